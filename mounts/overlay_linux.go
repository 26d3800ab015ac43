package mounts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts op's layers at target (a host path: it runs before
// the pivot, while the layers are reachable under their own names). An
// empty op.Upper puts the upper layer on scratch, a tmpfs that dies with
// the sandbox. The kernel's overlayfs is mounted with userxattr, which
// makes it work in a user namespace (Linux 5.11+) and read the
// user.overlay.* attributes the unpacker writes; where that is refused,
// fuse-overlayfs serves the same directories.
func mountOverlay(op Op, target, scratch string) error {
	upper, work := op.Upper, op.Work
	if upper == "" {
		upper, work = filepath.Join(scratch, "upper"), filepath.Join(scratch, "work")
		for _, d := range []string{upper, work} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
		}
	}
	if op.Data == "fuse" {
		return fuseOverlay(op.Layers, upper, work, target)
	}
	err := kernelOverlay(op.Layers, upper, work, target)
	if err != nil && op.Data == "" && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENODEV)) {
		if ferr := fuseOverlay(op.Layers, upper, work, target); ferr == nil {
			return nil
		} else {
			return fmt.Errorf("%w; fuse-overlayfs fallback: %v", err, ferr)
		}
	}
	return err
}

func kernelOverlay(layers []string, upper, work, target string) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return &Error{Op: "fsopen", Source: "overlay", Target: target, Err: err}
	}
	defer unix.Close(fsfd)
	set := func(k, v string) error {
		if err := unix.FsconfigSetString(fsfd, k, v); err != nil {
			return &Error{Op: "fsconfig " + k + "=" + v, Source: "overlay", Target: target, Err: err}
		}
		return nil
	}
	// "lowerdir+" (Linux 6.8) takes one layer per call, topmost first, with
	// no limit from the page-sized option string and no escaping of ':'.
	for i := len(layers) - 1; i >= 0; i-- {
		if err := set("lowerdir+", layers[i]); err != nil {
			if i != len(layers)-1 || !errors.Is(err, unix.EINVAL) {
				return err
			}
			if err := set("lowerdir", lowerdirOption(layers)); err != nil {
				return err
			}
			break
		}
	}
	if err := set("upperdir", upper); err != nil {
		return err
	}
	if err := set("workdir", work); err != nil {
		return err
	}
	if err := unix.FsconfigSetFlag(fsfd, "userxattr"); err != nil {
		return &Error{Op: "fsconfig userxattr", Source: "overlay", Target: target, Err: err}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return &Error{Op: "fsconfig create", Source: "overlay", Target: target, Err: err}
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return &Error{Op: "fsmount", Source: "overlay", Target: target, Err: err}
	}
	defer unix.Close(mnt)
	if err := unix.MoveMount(mnt, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return &Error{Op: "move_mount", Source: "overlay", Target: target, Err: err}
	}
	return nil
}

// lowerdirOption is the classic "top:...:bottom" option, ':' escaped.
func lowerdirOption(layers []string) string {
	var parts []string
	for i := len(layers) - 1; i >= 0; i-- {
		parts = append(parts, strings.ReplaceAll(layers[i], ":", `\:`))
	}
	return strings.Join(parts, ":")
}

// fuseOverlay runs fuse-overlayfs, which daemonizes once the mount is up.
func fuseOverlay(layers []string, upper, work, target string) error {
	bin, err := exec.LookPath("fuse-overlayfs")
	if err != nil {
		return fmt.Errorf("fuse-overlayfs not found (install package fuse-overlayfs)")
	}
	opts := "lowerdir=" + lowerdirOption(layers) + ",upperdir=" + upper + ",workdir=" + work
	out, err := exec.Command(bin, "-o", opts, target).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s -o %s %s: %v: %s", bin, opts, target, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// holdOverlayDirs opens op's directories and returns op with their paths
// replaced by /proc/self/fd/N, which stay valid whatever is mounted over
// the original paths.
func holdOverlayDirs(op Op) (Op, func(), error) {
	var fds []int
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	hold := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", &Error{Op: "open overlay directory", Source: p, Err: err}
		}
		fds = append(fds, fd)
		return fmt.Sprintf("/proc/self/fd/%d", fd), nil
	}
	out := op
	out.Layers = make([]string, len(op.Layers))
	var err error
	for i, l := range op.Layers {
		if out.Layers[i], err = hold(l); err != nil {
			closeAll()
			return op, nil, err
		}
	}
	if out.Upper, err = hold(op.Upper); err == nil {
		out.Work, err = hold(op.Work)
	}
	if err != nil {
		closeAll()
		return op, nil, err
	}
	return out, closeAll, nil
}
