package mounts

import (
	"errors"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/internal/linux"
)

// openIn opens p (absolute) as O_PATH inside the tree at dirfd, resolving
// every symlink as if dirfd were the root.
func openIn(dirfd int, p string) (int, error) {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	return linux.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// openBeneath opens source (absolute) as O_PATH below the directory dir
// of the tree at dirfd, following no symlink below dir: a symlink there,
// the last element included, is ELOOP.
func openBeneath(dirfd int, dir, source string) (int, error) {
	rel, err := filepath.Rel(dir, source)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return -1, unix.EXDEV
	}
	d, err := openIn(dirfd, dir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(d)
	return OpenNoFollow(d, rel)
}

// OpenNoFollow opens rel as O_PATH below the directory dirfd, following
// no symlink (ELOOP) and never leaving it (EXDEV).
func OpenNoFollow(dirfd int, rel string) (int, error) {
	return linux.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// target opens target inside the new root, creating it and its parents
// when missing: a directory if dir, else an empty file.
func (b *builder) target(target string, dir bool) (int, error) {
	fd, err := openIn(b.root, target)
	if !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, &Error{Op: "open", Target: target, Err: err}
		}
		return fd, nil
	}
	parent, name, err := b.parent(target)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	if dir {
		err = unix.Mkdirat(parent, name, 0o755)
	} else {
		var f int
		f, err = unix.Openat(parent, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(f)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, &Error{Op: opMountpoint, Target: target, Err: err}
	}
	fd, err = openIn(b.root, target)
	if err != nil {
		return -1, &Error{Op: "open", Target: target, Err: err}
	}
	return fd, nil
}

// parent opens (creating as needed) the directory holding target and
// returns it with target's last element.
func (b *builder) parent(target string) (int, string, error) {
	clean := path.Clean("/" + target)
	fd, err := b.target(path.Dir(clean), true)
	return fd, path.Base(clean), err
}
