package confine

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The payload stage runs this binary inside the sandbox. Started from
// /proc/self/exe, /proc/<stage>/exe would be the user's own, writable,
// host binary: a process in the sandbox that opened it (O_PATH) while the
// stage ran could reopen it O_WRONLY once nothing runs it any more and
// rewrite what the user runs next (CVE-2019-5736; review 13, #11). It
// matters as soon as a second process can run in a sandbox (exec).
//
// So init execs the stage through a sealed copy of the binary's mount: a
// detached, read-only bind of just that file (open_tree + mount_setattr).
// /proc/<stage>/exe then resolves into a read-only mount, and a write
// open fails with EROFS. No copy of the file is made: tens of µs.

// sealFD is where the sealed binary's fd is kept: far above the fds Go's
// exec renumbers (ExtraFiles go to 3.., and forkAndExecInChild dups a few
// more just above them), so /proc/self/fd/N still names it when the child
// execs.
const sealFD = 100

// SealExe returns a path to exec this binary from a read-only mount, for
// the payload stage. Call it in init before the root is built, while the
// host's tree (where the binary lies) is still init's view. The fd stays
// open, close-on-exec, for the life of init.
func SealExe() (string, error) {
	p, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return "", fmt.Errorf("reading /proc/self/exe: %w", err)
	}
	var want unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &want); err != nil {
		return "", fmt.Errorf("reading /proc/self/exe: %w", err)
	}
	return sealFile(p, &want)
}

// sealFile binds the file at p, which must be the one want describes
// (the binary may have been replaced since it started: `go install`),
// read-only and detached, and returns /proc/self/fd/N for it.
func sealFile(p string, want *unix.Stat_t) (string, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return "", fmt.Errorf("sealing the sandbox binary %s: open_tree: %w", p, err)
	}
	defer unix.Close(tree)
	var got unix.Stat_t
	if err := unix.Fstat(tree, &got); err != nil {
		return "", fmt.Errorf("sealing the sandbox binary %s: %w", p, err)
	}
	if got.Dev != want.Dev || got.Ino != want.Ino {
		return "", &ReplacedError{Path: p}
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return "", fmt.Errorf("sealing the sandbox binary %s: mount_setattr: %w", p, err)
	}
	fd, err := unix.FcntlInt(uintptr(tree), unix.F_DUPFD_CLOEXEC, sealFD)
	if err != nil {
		return "", fmt.Errorf("sealing the sandbox binary %s: %w", p, err)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd), nil
}

// ReplacedError is a sandbox binary replaced between its start and its
// sealing: the stage would run another program than init.
type ReplacedError struct{ Path string }

func (e *ReplacedError) Error() string {
	return fmt.Sprintf("the sandbox binary %s was replaced while the sandbox started", e.Path)
}

// Hint says what to do.
func (e *ReplacedError) Hint() string { return "run the command again" }
