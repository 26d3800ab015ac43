package userns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Error is a failure to create a user namespace, with the host setting that
// most likely caused it.
type Error struct {
	Err error
	Fix string
}

func (e *Error) Error() string {
	return "cannot create a user namespace: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Hint names the setting to change.
func (e *Error) Hint() string { return e.Fix }

// Explain wraps err, the failure of a clone with CLONE_NEWUSER, in an *Error
// that names the sysctl or AppArmor setting that forbids it.
func Explain(err error) error {
	return &Error{Err: err, Fix: diagnose()}
}

func diagnose() string {
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return strings.TrimSpace(string(b))
	}
	switch {
	case read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
		return "unprivileged user namespaces are disabled: sudo sysctl -w kernel.unprivileged_userns_clone=1 (persist it in /etc/sysctl.d/)"
	case read("/proc/sys/user/max_user_namespaces") == "0":
		return "user.max_user_namespaces is 0: sudo sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)"
	case read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
		return "AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+): add an AppArmor profile granting 'userns,' to the sandbox binary, or sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
	}
	return "check that the kernel has CONFIG_USER_NS and that no seccomp or LSM policy forbids unshare(CLONE_NEWUSER)"
}

// Check tries to create a user namespace by starting cmd, a program that
// exits 0 at once (the sandbox binary's hidden probe), in one.
func Check(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return fmt.Errorf("user namespace probe %s failed: %s", cmd.Path, strings.TrimSpace(string(out)))
	}
	if err != nil {
		return Explain(err)
	}
	return nil
}
