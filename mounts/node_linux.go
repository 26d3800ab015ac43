package mounts

import (
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/internal/linux"
)

// OpenNode opens p (absolute) as O_PATH below dirfd without following a
// symlink in any component, and checks that it is of the file type want
// (unix.S_IFCHR, S_IFBLK or S_IFSOCK; S_IFCHR also accepts S_IFBLK). The
// sandbox calls it on the host (for an early, named error) and init under
// the host tree, where the mount is made from this very fd.
func OpenNode(dirfd int, p string, want uint32) (int, error) {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	fd, err := linux.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	got := st.Mode & unix.S_IFMT
	if got != want && !(want == unix.S_IFCHR && got == unix.S_IFBLK) {
		unix.Close(fd)
		return -1, &NodeTypeError{Path: p, Want: want, Got: got}
	}
	return fd, nil
}

// NodeTypeError is a granted node that is not of its kind: a regular file
// or directory where a device or socket was asked for.
type NodeTypeError struct {
	Path      string
	Want, Got uint32
}

func (e *NodeTypeError) Error() string {
	return e.Path + " is " + typeName(e.Got) + ", not " + typeName(e.Want)
}

func typeName(mode uint32) string {
	switch mode {
	case unix.S_IFCHR:
		return "a device node"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a fifo"
	}
	return "of another type"
}

// bindNode binds the host node op.Source at op.Target (Device, Socket).
// Devices keep their device access (no nodev); neither may be executed.
func (b *builder) bindNode(op Op) error {
	want, attrs := uint32(unix.S_IFSOCK), uint64(unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if op.Kind == Device {
		want, attrs = unix.S_IFCHR, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC
	}
	src, err := OpenNode(b.host, op.Source, want)
	if err != nil {
		return &Error{Op: "open " + string(op.Kind), Source: op.Source, Target: op.Target, Err: err}
	}
	defer unix.Close(src)
	tree, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return &Error{Op: "open_tree", Source: op.Source, Target: op.Target, Err: err}
	}
	defer unix.Close(tree)
	if err := setattr(tree, "", attrs|roAttr(op.ReadOnly), false); err != nil {
		return &Error{Op: "mount_setattr", Source: op.Source, Target: op.Target, Flags: attrs, Err: err}
	}
	return b.attach(tree, op.Source, op.Target, false)
}
