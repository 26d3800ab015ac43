// Package linux holds thin wrappers around Linux system calls that every
// concept package needs in the same careful form: retried where the
// kernel asks for a retry.
package linux

import (
	"errors"

	"golang.org/x/sys/unix"
)

// openat2Attempts bounds the retries of a lookup the kernel keeps
// answering EAGAIN. A lookup restricted by RESOLVE_BENEATH or
// RESOLVE_IN_ROOT that walks ".." (an image's relative symlinks do) fails
// with EAGAIN whenever any rename or mount happened on the host meanwhile
// (fs/namei.c checks the global rename_lock and mount_lock sequence
// counters), so a busy host makes about one lookup in ten fail once; it is
// not an answer about the path. runc and libpathrs retry it the same way.
// The bound keeps a host that renames without pause from spinning us
// forever.
const openat2Attempts = 128

// Openat2 is unix.Openat2, retried on EAGAIN (see openat2Attempts) and
// EINTR. Its error is the raw errno, as unix.Openat2's, so that callers
// keep matching ELOOP, EXDEV and ENOENT with errors.Is.
func Openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	var err error
	for range openat2Attempts {
		var fd int
		fd, err = unix.Openat2(dirfd, path, how)
		if err == nil {
			return fd, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return -1, err
		}
	}
	return -1, err
}
