package session

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/cgroup"
	"sandbox/profiles"
	"sandbox/sandbox"
)

// rlimitResources maps [limits.rlimits] names to resources.
var rlimitResources = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// rlimits turns the profile's [limits.rlimits] into sandbox.Spec values.
func rlimits(l profiles.Limits) []sandbox.Rlimit {
	var out []sandbox.Rlimit
	for name, v := range l.Rlimits {
		max := uint64(v)
		if v < 0 {
			max = math.MaxUint64 // RLIM_INFINITY
		}
		out = append(out, sandbox.Rlimit{Resource: rlimitResources[name], Name: name, Max: max})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// cgroupLimits converts the profile's limits (typed and checked by
// profiles.Load).
func cgroupLimits(l profiles.Limits) cgroup.Limits {
	var c cgroup.Limits
	if l.Memory.IsSet() {
		c.MemoryMax = l.Memory.Bytes()
	}
	if l.MemorySwap.IsSet() {
		c.MemorySwapMax = l.MemorySwap.Bytes()
		c.SwapSet = true
	}
	c.CPUs, c.CPUWeight, c.PidsMax, c.IOWeight = l.CPUs, l.CPUWeight, l.Pids, l.IOWeight
	return c
}

// ScopeEnv marks a sandbox process that systemd-run already placed in a
// delegated scope, so it does not ask again.
const ScopeEnv = "_SANDBOX_SCOPE"

// errReexec means the run must start over inside a systemd scope.
var errReexec = errors.New("re-executing in a delegated systemd scope")

// delegation finds where a run with limits l can have its cgroup: d, or
// errReexec when a transient systemd user scope with Delegate=yes would
// give one (the caller re-executes through systemd-run), else the check's
// error naming what is missing.
func delegation(l profiles.Limits) (cgroup.Delegation, error) {
	d, err := cgroup.Detect()
	if err != nil {
		d = cgroup.Delegation{}
	}
	checkErr := cgroup.Check(d, cgroupLimits(l))
	if checkErr != nil && os.Getenv(ScopeEnv) == "" && systemdUserManager() {
		return d, errReexec
	}
	return d, checkErr
}

// acquireCgroup creates the cgroup for a run with limits l, in the
// delegated subtree we are in; errReexec; else an error naming what is
// missing, or with required = false a warning and no cgroup.
func acquireCgroup(l profiles.Limits, warn func(string)) (*cgroup.Manager, error) {
	d, err := delegation(l)
	switch {
	case err == nil:
		return cgroup.New(d, "sandbox-"+strconv.Itoa(os.Getpid()), cgroupLimits(l))
	case errors.Is(err, errReexec) || l.Required:
		return nil, err
	}
	warn(err.Error() + "; running without them (required = false)")
	return nil, nil
}

// checkCgroup fails as acquireCgroup would, before anything is pulled or
// built, and re-executes into a systemd scope then too: that must come
// before any other side effect. It creates nothing (setup steps, which
// run first, each take and drop a cgroup of the same name) and warns of
// nothing (acquireCgroup does, once).
func checkCgroup(l profiles.Limits) error {
	if !l.NeedsCgroup() {
		return nil
	}
	_, err := delegation(l)
	switch {
	case errors.Is(err, errReexec):
		return reexecInScope()
	case l.Required:
		return err
	}
	return nil
}

// systemdUserManager reports whether `systemd-run --user` can work: the
// tool exists and the user manager's private socket or bus is there.
func systemdUserManager() bool {
	if _, err := exec.LookPath("systemd-run"); err != nil {
		return false
	}
	rt := os.Getenv("XDG_RUNTIME_DIR")
	for _, p := range []string{filepath.Join(rt, "systemd", "private"), filepath.Join(rt, "bus")} {
		if fi, err := os.Stat(p); rt != "" && err == nil && fi.Mode()&os.ModeSocket != 0 {
			return true
		}
	}
	return false
}

// reexecInScope replaces this process with `systemd-run --user --scope -p
// Delegate=yes` running the same sandbox command, which then finds itself in
// a delegated cgroup (podman does the same over D-Bus).
func reexecInScope() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tool, err := exec.LookPath("systemd-run")
	if err != nil {
		return err
	}
	argv := append([]string{"systemd-run", "--user", "--scope", "--quiet", "--collect", "-p", "Delegate=yes", "--", self}, os.Args[1:]...)
	env := append(os.Environ(), ScopeEnv+"=1")
	if os.Getenv(sandbox.SupervisorEnv) != "" {
		// The ready pipe of `run -d` must reach the supervisor in the scope.
		_, _ = unix.FcntlInt(sandbox.ReadyFD, unix.F_SETFD, 0)
	}
	return fmt.Errorf("running %s: %w", tool, syscall.Exec(tool, argv, env))
}

// parseTimeout is the profile's timeout (0: none).
func parseTimeout(l profiles.Limits) time.Duration {
	return time.Duration(l.Timeout)
}
