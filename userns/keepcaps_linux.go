package userns

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A child cloned with CLONE_NEWUSER holds every capability in its new
// namespace, but its exec recomputes them: before newuidmap has mapped
// uid 0 the new program is nobody and keeps none. Waiting for the map
// and executing again costs a whole Go start (~9 ms on a slow VM), once
// per run and once per image worker.
//
// Instead the child raises every capability as ambient before its exec
// (SysProcAttr.AmbientCaps, which the runtime applies between clone and
// exec): an exec keeps the ambient set whatever the uid, and makes it the
// new program's permitted and effective sets, so the program starts with
// the namespace's full set and only waits for the map, which makes it
// uid 0. DropAmbient, called first thing, empties the ambient and
// inheritable sets again, so that nothing exec'd later inherits
// capabilities through them.

// AmbientCaps is every capability this kernel knows, for the AmbientCaps
// of a child that is cloned into a new user namespace and mapped after its
// exec (see above). The new namespace resets the securebits, so the child
// may raise them whatever this process's bits say. It is nil in a build
// with cgo, where DropAmbient cannot reach every thread: the child then has
// no capability until it executes again once mapped (KeptAmbient).
func AmbientCaps() ([]uintptr, error) {
	if cgoBuild {
		return nil, nil
	}
	last, err := lastCap()
	if err != nil {
		return nil, err
	}
	caps := make([]uintptr, 0, last+1)
	for c := 0; c <= last; c++ {
		caps = append(caps, uintptr(c))
	}
	return caps, nil
}

// lastCap is the kernel's highest capability number: raising one above it
// fails with EINVAL.
func lastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("reading the kernel's last capability: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < unix.CAP_SYS_ADMIN || n > 63 {
		return 0, fmt.Errorf("reading the kernel's last capability: unexpected %q in /proc/sys/kernel/cap_last_cap", strings.TrimSpace(string(b)))
	}
	return n, nil
}

// KeptAmbient reports whether this process was started with AmbientCaps:
// its ambient set holds CAP_SYS_ADMIN.
func KeptAmbient() bool {
	set, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, unix.CAP_SYS_ADMIN, 0, 0)
	return err == nil && set == 1
}

// DropAmbient empties the ambient and inheritable capability sets of every
// thread of this process, which AmbientCaps filled: the permitted and
// effective sets stay, as an exec as uid 0 would have left them.
func DropAmbient() error {
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); errno != 0 {
		return fmt.Errorf("clearing the ambient capabilities: %w", os.NewSyscallError("prctl", errno))
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading the capabilities: %w", os.NewSyscallError("capget", err))
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	// All threads hold the same sets (they were cloned from the main
	// thread after the exec), so one value suits each.
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return fmt.Errorf("clearing the inheritable capabilities: %w", os.NewSyscallError("capset", errno))
	}
	return nil
}
