package mounts

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Error is a failed step of building the root: which syscall, on what, with
// which flags.
type Error struct {
	Op     string // the syscall: open_tree, move_mount, fsmount, mkdirat...
	Source string
	Target string
	Flags  uint64 // MOUNT_ATTR_* flags, if any
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Source != "" {
		b.WriteString(" " + e.Source)
	}
	if e.Target != "" {
		b.WriteString(" on " + e.Target)
	}
	if e.Flags != 0 {
		b.WriteString(" (" + attrNames(e.Flags) + ")")
	}
	return fmt.Sprintf("%s: %v", b.String(), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Hint explains the common failures.
func (e *Error) Hint() string {
	switch {
	case e.Op == opMountpoint && errors.Is(e.Err, unix.EROFS):
		return "its parent directory is part of the read-only host; mount onto a directory that exists, or under /mnt, /tmp, ~ or the project"
	case errors.Is(e.Err, unix.EPERM):
		return "the kernel refused a mount in the user namespace; run sandbox doctor"
	}
	return ""
}

const opMountpoint = "creating mountpoint"

var attrFlags = []struct {
	flag uint64
	name string
}{
	{unix.MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"},
	{unix.MOUNT_ATTR_NOSUID, "MOUNT_ATTR_NOSUID"},
	{unix.MOUNT_ATTR_NODEV, "MOUNT_ATTR_NODEV"},
	{unix.MOUNT_ATTR_NOEXEC, "MOUNT_ATTR_NOEXEC"},
}

func attrNames(flags uint64) string {
	var names []string
	for _, f := range attrFlags {
		if flags&f.flag != 0 {
			names = append(names, f.name)
			flags &^= f.flag
		}
	}
	if flags != 0 {
		names = append(names, fmt.Sprintf("%#x", flags))
	}
	return strings.Join(names, "|")
}
