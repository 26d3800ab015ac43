package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ScopeEnv marks a sandbox process that systemd-run already placed in a
// delegated scope, so it does not ask again.
const ScopeEnv = "_SANDBOX_SCOPE"

// ErrReexec means the run must start over inside a systemd scope
// (ReexecInScope).
var ErrReexec = errors.New("re-executing in a delegated systemd scope")

// Acquire finds the cgroup for a run with limits l, in order: the
// delegated subtree we are in; a transient systemd user scope with
// Delegate=yes (ErrReexec: the caller re-executes through ReexecInScope);
// else a *MissingError naming what is missing, which the caller may turn
// into a warning and run without a cgroup.
func Acquire(l Limits) (*Manager, error) {
	d, err := Find(l)
	if err != nil {
		return nil, err
	}
	return New(d, "sandbox-"+strconv.Itoa(os.Getpid()), l)
}

// Find is Acquire without creating anything: the delegated subtree a run
// with limits l would use, ErrReexec, or a *MissingError. The pre-run
// phase asks it before pulling or building anything.
func Find(l Limits) (Delegation, error) {
	d, err := Detect()
	if err != nil {
		d = Delegation{}
	}
	checkErr := Check(d, l)
	if checkErr == nil {
		return d, nil
	}
	if os.Getenv(ScopeEnv) == "" && systemdUserManager() {
		return d, ErrReexec
	}
	return d, checkErr
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

// ReexecInScope replaces this process with `systemd-run --user --scope -p
// Delegate=yes` running the same sandbox command, which then finds itself in
// a delegated cgroup (podman does the same over D-Bus). The descriptors in
// inherit stay open across the exec. It returns only on failure.
func ReexecInScope(inherit ...int) error {
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
	for _, fd := range inherit {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
	}
	return fmt.Errorf("running %s: %w", tool, syscall.Exec(tool, argv, env))
}
