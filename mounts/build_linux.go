package mounts

import (
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Build turns the calling process's mount namespace into the root that plan
// describes and makes it the root directory. Following bubblewrap, it first
// pivots onto a scratch tmpfs so the host's tree stays reachable at /oldroot
// while /newroot is assembled, then pivots into /newroot and drops the host.
// Every target is resolved by file descriptor inside /newroot
// (openat2 RESOLVE_IN_ROOT), so symlinks planted in writable directories
// cannot redirect a mount outside it.
//
// A host whose root is the initial ramfs (rootfs) cannot pivot_root at all;
// there the new root is assembled on scratch, an empty directory the caller
// made for this run, and moved onto / with MS_MOVE and chroot, as
// switch_root does; chrooted is then true, and the caller must not give
// the payload CAP_SYS_CHROOT, with which it could climb out.
//
// Must be called in a new mount namespace, with CAP_SYS_ADMIN in the user
// namespace that owns it, from a locked OS thread.
func Build(plan Plan, scratch string) (chrooted bool, err error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return false, &Error{Op: "mount MS_REC|MS_SLAVE", Target: "/", Err: err}
	}
	// An image's overlay is mounted first, on the run's scratch directory
	// and with the layers' own paths, while nothing covers them (the
	// scratch tmpfs below goes over /tmp, where they may live), and then
	// moved into the new root.
	var overlay *int
	if len(plan) > 0 && plan[0].Kind == Overlay {
		fd, err := mountImageRoot(plan[0], scratch)
		if err != nil {
			return false, err
		}
		defer unix.Close(fd)
		overlay, plan = &fd, plan[1:]
	}
	host, root, onRootfs, err := scratchRoot(scratch, overlay)
	if err != nil {
		return false, err
	}
	b, err := newBuilder(host, root)
	if err != nil {
		return false, err
	}
	defer b.close()
	for _, op := range plan {
		if err := b.run(op); err != nil {
			return false, err
		}
	}
	if onRootfs {
		if err := switchRoot(root); err != nil {
			return true, err
		}
	} else {
		if err := unix.Unmount(host, unix.MNT_DETACH); err != nil {
			return false, &Error{Op: "umount2 MNT_DETACH", Target: host, Err: err}
		}
		if err := pivot(root, "."); err != nil {
			return false, err
		}
	}
	if overlay != nil {
		return onRootfs, nil // the image's root is the sandbox's to change
	}
	// The root tmpfs holds only mountpoints and symlinks; writes elsewhere
	// than the writable mounts must fail with EROFS, as on the host.
	return onRootfs, setattr(unix.AT_FDCWD, "/", unix.MOUNT_ATTR_RDONLY, false)
}

// scratchRoot mounts the tmpfs the new root is built on, or the image's
// overlay, and says where the host's tree and the new root are.
func scratchRoot(scratch string, overlay *int) (host, root string, onRootfs bool, err error) {
	const base = "/tmp"
	if err := unix.Mount("tmpfs", base, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return "", "", false, &Error{Op: "mount tmpfs", Target: base, Err: err}
	}
	for _, d := range []string{base + "/oldroot", base + "/newroot"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", "", false, err
		}
	}
	if overlay != nil {
		if err := unix.MoveMount(*overlay, "", unix.AT_FDCWD, base+"/newroot", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return "", "", false, &Error{Op: "move_mount", Source: "overlay", Target: base + "/newroot", Err: err}
		}
	}
	err = pivot(base, "oldroot")
	if errors.Is(err, unix.EINVAL) && scratch != "" {
		if err := unix.Unmount(base, unix.MNT_DETACH); err != nil {
			return "", "", false, &Error{Op: "umount2 MNT_DETACH", Target: base, Err: err}
		}
		if err := unix.Mount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
			return "", "", false, &Error{Op: "mount tmpfs", Target: scratch, Err: err}
		}
		if overlay != nil {
			return "", "", false, errors.New("images need pivot_root, which this host (running from its initramfs) does not allow")
		}
		return "/", scratch, true, nil
	}
	if err != nil {
		return "", "", false, err
	}
	if overlay != nil {
		return "/oldroot", "/newroot", false, nil
	}
	if err := unix.Mount("tmpfs", "/newroot", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return "", "", false, &Error{Op: "mount tmpfs", Target: "/newroot", Err: err}
	}
	return "/oldroot", "/newroot", false, nil
}

// switchRoot moves root onto / and enters it (util-linux switch_root).
func switchRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return &os.PathError{Op: "chdir", Path: root, Err: err}
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return &Error{Op: "mount MS_MOVE", Source: root, Target: "/", Err: err}
	}
	if err := unix.Chroot("."); err != nil {
		return &os.PathError{Op: "chroot", Path: root, Err: err}
	}
	return unix.Chdir("/")
}

// pivot makes dir the root, with the old root at dir/putOld; putOld "."
// stacks the old root on the new one and detaches it (runc's pivotRoot).
func pivot(dir, putOld string) error {
	if err := unix.Chdir(dir); err != nil {
		return &os.PathError{Op: "chdir", Path: dir, Err: err}
	}
	if err := unix.PivotRoot(".", putOld); err != nil {
		return &Error{Op: "pivot_root", Source: dir, Target: putOld, Err: err}
	}
	if putOld == "." {
		if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
			return &Error{Op: "umount2 MNT_DETACH", Target: "old root", Err: err}
		}
	}
	return unix.Chdir("/")
}

// builder executes ops with the host tree at host and the new root at root.
type builder struct {
	host, root int    // O_PATH directory fds
	hostPath   string // where the host's tree is ("/oldroot"), for its /proc
}

func newBuilder(host, root string) (*builder, error) {
	h, err := unix.Open(host, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: host, Err: err}
	}
	r, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(h)
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	return &builder{host: h, root: r, hostPath: host}, nil
}

func (b *builder) close() {
	unix.Close(b.host)
	unix.Close(b.root)
}

func (b *builder) run(op Op) error {
	switch op.Kind {
	case Bind:
		attrs := unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | roAttr(op.ReadOnly)
		if op.Beneath != "" {
			src, err := openBeneath(b.host, op.Beneath, op.Source)
			if err != nil {
				return &Error{Op: "open", Source: op.Source, Target: op.Target, Err: err}
			}
			defer unix.Close(src)
			return b.bindFd(src, op.Source, op.Target, attrs)
		}
		return b.bind(op.Source, op.Target, attrs)
	case Dev:
		return b.bind(op.Source, op.Target, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
	case Device, Socket:
		return b.bindNode(op)
	case Tmpfs:
		return b.fs("tmpfs", op, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|roAttr(op.ReadOnly))
	case Proc, Mqueue:
		return b.fs(string(op.Kind), op, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	case Devpts:
		return b.fs("devpts", op, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
	case Sysfs:
		attrs := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_RDONLY)
		if err := b.fs("sysfs", op, attrs); err != nil {
			// A fresh sysfs needs a fully visible one in this namespace;
			// some hosts (nested containers) lack it. The host's, read-only,
			// is the same view minus our network devices.
			return b.bind("/sys", op.Target, attrs)
		}
		return nil
	case Cgroup2:
		// Rooted at the sandbox's own cgroup (its cgroup namespace), so
		// tools that size themselves from memory.max or cpu.max (Go,
		// the JVM) see its limits. A host without cgroup v2 has none.
		if err := b.fs("cgroup2", op, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC); err != nil && !errors.Is(err, unix.ENODEV) {
			return err
		}
		return nil
	case OverlayDir:
		return b.overlayDir(op)
	case Mask:
		return b.mask(op.Target)
	case RO:
		return b.readOnly(op.Target)
	case Pin:
		return b.rebind(op.Target, 0)
	case Symlink:
		parent, name, err := b.parent(op.Target)
		if err != nil {
			return err
		}
		defer unix.Close(parent)
		if err := unix.Symlinkat(op.Source, parent, name); err != nil && !errors.Is(err, unix.EEXIST) {
			return &Error{Op: "symlinkat", Source: op.Source, Target: op.Target, Err: err}
		}
		return nil
	case Dir:
		fd, err := b.target(op.Target, true)
		if err == nil {
			unix.Close(fd)
		}
		return err
	}
	return &Error{Op: "unknown op " + string(op.Kind), Target: op.Target, Err: unix.EINVAL}
}

func roAttr(ro bool) uint64 {
	if ro {
		return unix.MOUNT_ATTR_RDONLY
	}
	return 0
}

// bind clones the host tree at source (recursively), sets attrs on every
// mount of the clone and attaches it at target.
func (b *builder) bind(source, target string, attrs uint64) error {
	src, err := openIn(b.host, source)
	if err != nil {
		return &Error{Op: "open", Source: source, Target: target, Err: err}
	}
	defer unix.Close(src)
	return b.bindFd(src, source, target, attrs)
}

// bindFd is bind of the opened source src.
func (b *builder) bindFd(src int, source, target string, attrs uint64) error {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return &Error{Op: "fstat", Source: source, Err: err}
	}
	tree, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return &Error{Op: "open_tree", Source: source, Target: target, Err: err}
	}
	defer unix.Close(tree)
	if err := setattr(tree, "", attrs, true); err != nil {
		return &Error{Op: "mount_setattr", Source: source, Target: target, Flags: attrs, Err: err}
	}
	return b.attach(tree, source, target, st.Mode&unix.S_IFMT == unix.S_IFDIR)
}

// fs creates a new filesystem of type fstype with op.Data's options and
// attaches it at op.Target.
func (b *builder) fs(fstype string, op Op, attrs uint64) error {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return &Error{Op: "fsopen", Source: fstype, Target: op.Target, Err: err}
	}
	defer unix.Close(fsfd)
	for _, opt := range strings.Split(op.Data, ",") {
		if opt == "" {
			continue
		}
		k, v, hasValue := strings.Cut(opt, "=")
		if hasValue {
			err = unix.FsconfigSetString(fsfd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fsfd, k)
		}
		if err != nil {
			return &Error{Op: "fsconfig " + opt, Source: fstype, Target: op.Target, Err: err}
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return &Error{Op: "fsconfig create", Source: fstype, Target: op.Target, Err: err}
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, int(attrs))
	if err != nil {
		return &Error{Op: "fsmount", Source: fstype, Target: op.Target, Flags: attrs, Err: err}
	}
	defer unix.Close(mnt)
	return b.attach(mnt, fstype, op.Target, true)
}

// attach moves the detached mount mnt onto target, creating the mountpoint
// (a directory, or an empty file for a file mount) inside the new root.
func (b *builder) attach(mnt int, source, target string, dir bool) error {
	tfd, err := b.target(target, dir)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	if err := unix.MoveMount(mnt, "", tfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &Error{Op: "move_mount", Source: source, Target: target, Err: err}
	}
	return nil
}

// mask hides target, if it exists, under an empty read-only tmpfs
// (directories) or /dev/null (files).
func (b *builder) mask(target string) error {
	fd, err := openIn(b.root, target)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &Error{Op: "open", Target: target, Err: err}
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	unix.Close(fd)
	if err != nil {
		return &Error{Op: "fstat", Target: target, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return b.fs("tmpfs", Op{Target: target, Data: "size=0,mode=555"}, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	}
	return b.bind("/dev/null", target, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
}

// readOnly remounts the tree at target, if it exists, read-only.
func (b *builder) readOnly(target string) error {
	return b.rebind(target, unix.MOUNT_ATTR_RDONLY)
}

// rebind binds the tree at target, if it exists, onto itself with attrs.
func (b *builder) rebind(target string, attrs uint64) error {
	fd, err := openIn(b.root, target)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &Error{Op: "open", Target: target, Err: err}
	}
	defer unix.Close(fd)
	tree, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return &Error{Op: "open_tree", Target: target, Err: err}
	}
	defer unix.Close(tree)
	if err := setattr(tree, "", attrs, true); err != nil {
		return &Error{Op: "mount_setattr", Target: target, Flags: attrs, Err: err}
	}
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &Error{Op: "move_mount", Target: target, Err: err}
	}
	return nil
}

func setattr(fd int, p string, attrs uint64, recursive bool) error {
	flags := uint(0)
	if p == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	if attrs == 0 {
		return nil
	}
	return unix.MountSetattr(fd, p, flags, &unix.MountAttr{Attr_set: attrs})
}
