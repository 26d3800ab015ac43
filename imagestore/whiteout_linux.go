package imagestore

import (
	"archive/tar"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// OCI layers mark deletions with ".wh.NAME" entries and directories that
// hide everything below them with ".wh..wh..opq". Overlayfs in a user
// namespace (mounted with userxattr) wants a 0/0 character device for the
// first (which anyone may create) and user.overlay.opaque=y for the second.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// OpaqueXattr marks an opaque directory for overlayfs mounted with
	// userxattr.
	OpaqueXattr = "user.overlay.opaque"
)

// privateXattrs are attributes that steer overlayfs or fuse-overlayfs
// (redirects, metacopy, fake ownership): a layer that carries them could
// make the mounted tree show files from elsewhere.
var privateXattrs = []string{"trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.", "user.containers.override_stat"}

func (u *unpacker) whiteout(parent int, dir, base, name string) error {
	if base == whiteoutOpaque {
		if err := unix.Setxattr(fdPath(parent), OpaqueXattr, []byte("y"), 0); err != nil {
			return &os.PathError{Op: "setxattr " + OpaqueXattr, Path: dir, Err: err}
		}
		return nil
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return hostile(name, "malformed whiteout")
	}
	if err := u.replace(parent, target, name, false); err != nil {
		return err
	}
	if err := unix.Mknodat(parent, target, unix.S_IFCHR, 0); err != nil {
		return &os.PathError{Op: "mknod whiteout", Path: name, Err: err}
	}
	return nil
}

func checkXattrs(hdr *tar.Header) error {
	for k := range hdr.PAXRecords {
		x, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		for _, p := range privateXattrs {
			if strings.HasPrefix(x, p) {
				return hostile(hdr.Name, "overlay-private extended attribute %s", x)
			}
		}
	}
	return nil
}

// attrs gives an entry its owner, mode, user.* attributes and times; fd is
// the open file, or -1.
func (u *unpacker) attrs(parent int, base, name string, hdr *tar.Header, fd int) error {
	if u.chown {
		var err error
		if fd >= 0 {
			err = unix.Fchown(fd, hdr.Uid, hdr.Gid)
		} else {
			err = unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			if errors.Is(err, unix.EINVAL) {
				return &OwnerError{Entry: name, UID: hdr.Uid, GID: hdr.Gid}
			}
			return &os.PathError{Op: "chown", Path: name, Err: err}
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// After chown, which clears setuid bits. They stay set: the store
		// is 0700, so only the sandbox sees them.
		mode := uint32(hdr.Mode & 0o7777)
		var err error
		if fd >= 0 {
			err = unix.Fchmod(fd, mode)
		} else {
			err = unix.Fchmodat(parent, base, mode, 0)
		}
		if err != nil {
			return &os.PathError{Op: "chmod", Path: name, Err: err}
		}
		if err := setUserXattrs(parent, base, name, hdr); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(hdr.AccessTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if hdr.AccessTime.IsZero() {
		ts[0] = ts[1]
	}
	var err error
	if fd >= 0 {
		err = unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH)
	} else {
		err = unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: name, Err: err}
	}
	return nil
}

// setUserXattrs applies the entry's user.* attributes. Others
// (security.capability, trusted.*) are left out: a user namespace cannot
// set them for the host.
func setUserXattrs(parent int, base, name string, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		x, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || !strings.HasPrefix(x, "user.") {
			continue
		}
		p := fdPath(parent) + "/" + base
		if base == "." {
			p = fdPath(parent)
		}
		if err := unix.Setxattr(p, x, []byte(v), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
			return &os.PathError{Op: "setxattr " + x, Path: name, Err: err}
		}
	}
	return nil
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// OwnerError is a file whose owner the sandbox's ids cannot represent.
type OwnerError struct {
	Entry    string
	UID, GID int
}

func (e *OwnerError) Error() string {
	return "cannot give " + e.Entry + " its owner " + strconv.Itoa(e.UID) + ":" + strconv.Itoa(e.GID) + ": beyond your subordinate id range"
}

// Hint says how to get more ids.
func (e *OwnerError) Hint() string {
	return "give your user a larger range in /etc/subuid and /etc/subgid (65536 ids is usual): sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER"
}
