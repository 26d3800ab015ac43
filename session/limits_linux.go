package session

import (
	"errors"
	"math"
	"os"
	"sort"
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

// acquireCgroup is cgroup.Acquire for a run with the profile's limits l;
// with required = false a missing controller is a warning and the run goes
// on without a cgroup.
func acquireCgroup(l profiles.Limits, warn func(string)) (*cgroup.Manager, error) {
	cg, err := cgroup.Acquire(cgroupLimits(l))
	var missing *cgroup.MissingError
	if errors.As(err, &missing) && !l.Required {
		warn(err.Error() + "; running without them (required = false)")
		return nil, nil
	}
	return cg, err
}

// reexecInScope is cgroup.ReexecInScope, keeping the ready pipe of `run
// -d` open: it must reach the supervisor in the scope.
func reexecInScope() error {
	if os.Getenv(sandbox.SupervisorEnv) != "" {
		return cgroup.ReexecInScope(sandbox.ReadyFD)
	}
	return cgroup.ReexecInScope()
}

// checkCgroup fails as acquireCgroup would, before anything is pulled or
// built, and re-executes into a systemd scope then too: that must come
// before any other side effect. It creates nothing (acquireCgroup does,
// after the build) and warns of nothing (acquireCgroup does, once).
func checkCgroup(l profiles.Limits) error {
	if !l.NeedsCgroup() {
		return nil
	}
	_, err := cgroup.Find(cgroupLimits(l))
	switch {
	case errors.Is(err, cgroup.ErrReexec):
		return reexecInScope()
	case err != nil && l.Required:
		return err
	}
	return nil
}

// parseTimeout is the profile's timeout (0: none).
func parseTimeout(l profiles.Limits) time.Duration {
	return time.Duration(l.Timeout)
}
