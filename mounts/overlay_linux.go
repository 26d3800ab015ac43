package mounts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// mountImageRoot mounts op's overlay at scratch/root and returns an
// O_PATH fd of that mount, to be moved into the new root. An empty
// op.Upper puts the upper layer on a tmpfs over scratch, which dies with
// the sandbox's mount namespace.
func mountImageRoot(op Op, scratch string) (int, error) {
	if scratch == "" {
		return -1, errors.New("no scratch directory for the image's root")
	}
	if op.Upper == "" {
		if err := unix.Mount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
			return -1, &Error{Op: "mount tmpfs", Target: scratch, Err: err}
		}
	}
	target := filepath.Join(scratch, "root")
	if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return -1, err
	}
	mounted, err := mountOverlay(op, target, scratch)
	if err != nil {
		return -1, err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, mounted, unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, &Error{Op: "open_tree", Target: target, Err: err}
	}
	return fd, nil
}

// mountOverlay mounts op's layers at target, and says where the mount is
// (fuse-overlayfs mounts it in a clone of the tree). An empty op.Upper
// puts the upper layer in scratch. The kernel's overlayfs is mounted with userxattr, which
// makes it work in a user namespace (Linux 5.11+) and read the
// user.overlay.* attributes the unpacker writes; where that is refused,
// fuse-overlayfs serves the same directories.
func mountOverlay(op Op, target, scratch string) (string, error) {
	upper, work := op.Upper, op.Work
	if upper == "" {
		upper, work = filepath.Join(scratch, "upper"), filepath.Join(scratch, "work")
		for _, d := range []string{upper, work} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return "", err
			}
		}
	}
	if op.Data == "fuse" {
		return fuseOverlay(op.Layers, upper, work, target, scratch)
	}
	err := kernelOverlay(op.Layers, upper, work, target, nil)
	if err != nil && op.Data == "" && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENODEV)) {
		mounted, ferr := fuseOverlay(op.Layers, upper, work, target, scratch)
		if ferr != nil {
			return "", fmt.Errorf("%w; fuse-overlayfs fallback: %v", err, ferr)
		}
		return mounted, nil
	}
	return target, err
}

// kernelOverlay mounts the layers (bottom first) under upper; the mount
// goes to target, or to attach when given.
func kernelOverlay(layers []string, upper, work, target string, attach func(mnt int) error) error {
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
	if attach != nil {
		return attach(mnt)
	}
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
// The daemon must not have our root as its root: pivot_root(2) moves
// every process whose root is the old root into the new one, where the
// daemon would look for its layers inside its own mount. So it runs
// chrooted in a recursive clone of the tree, and mounts there; the caller
// moves the mount from the clone into place.
func fuseOverlay(layers []string, upper, work, target, scratch string) (string, error) {
	// init runs with an empty environment: look where packages put it.
	bin := ""
	for _, d := range []string{"/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin"} {
		if _, err := os.Stat(d + "/fuse-overlayfs"); err == nil {
			bin = d + "/fuse-overlayfs"
			break
		}
	}
	if bin == "" {
		return "", fmt.Errorf("fuse-overlayfs not found (install package fuse-overlayfs)")
	}
	clone := filepath.Join(scratch, "host")
	if err := os.Mkdir(clone, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if err := unix.Mount("/", clone, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return "", &Error{Op: "mount MS_BIND|MS_REC", Source: "/", Target: clone, Err: err}
	}
	opts := "lowerdir=" + lowerdirOption(layers) + ",upperdir=" + upper + ",workdir=" + work
	cmd := exec.Command(bin, "-o", opts, target)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: clone}
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s -o %s %s: %v: %s", bin, opts, target, err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(clone, target), nil
}

// overlayDir mounts an overlay of a host directory at op.Target: the
// directories are opened in the host tree and handed to overlayfs by fd
// path (through the host's /proc: the new root has none yet); a
// memory-backed upper comes from a detached tmpfs.
func (b *builder) overlayDir(op Op) error {
	proc := path.Join(b.hostPath, "proc/self/fd")
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	hostDir := func(p string) (string, error) {
		fd, err := openIn(b.host, p)
		if err != nil {
			return "", &Error{Op: "open", Source: p, Target: op.Target, Err: err}
		}
		fds = append(fds, fd)
		return fmt.Sprintf("%s/%d", proc, fd), nil
	}
	lower, err := hostDir(op.Layers[0])
	if err != nil {
		return err
	}
	var upper, work string
	if op.Upper != "" {
		if upper, err = hostDir(op.Upper); err != nil {
			return err
		}
		if work, err = hostDir(op.Work); err != nil {
			return err
		}
	} else {
		tmp, err := detachedTmpfs()
		if err != nil {
			return err
		}
		fds = append(fds, tmp)
		for _, d := range []string{"upper", "work"} {
			if err := unix.Mkdirat(tmp, d, 0o755); err != nil {
				return &Error{Op: "mkdir", Target: d, Err: err}
			}
		}
		upper, work = fmt.Sprintf("%s/%d/upper", proc, tmp), fmt.Sprintf("%s/%d/work", proc, tmp)
	}
	if err := kernelOverlay([]string{lower}, upper, work, "", func(mnt int) error {
		return b.attach(mnt, "overlay", op.Target, true)
	}); err != nil {
		return err
	}
	return nil
}

func detachedTmpfs() (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, &Error{Op: "fsopen", Source: "tmpfs", Err: err}
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, &Error{Op: "fsconfig create", Source: "tmpfs", Err: err}
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return -1, &Error{Op: "fsmount", Source: "tmpfs", Err: err}
	}
	return mnt, nil
}
