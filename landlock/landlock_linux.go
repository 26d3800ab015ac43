// Package landlock confines the payload with the kernel's Landlock LSM:
// writes only beneath the sandbox's writable mounts and, where the kernel
// supports it, TCP connections only to given ports. It is best effort: a
// kernel without Landlock runs the payload without it.
package landlock

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Rights that make a change to the filesystem, by the ABI that introduced
// them. Reading and executing stay unrestricted: the mounts already say
// what the payload sees.
const (
	writeV1 = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	referV2    = unix.LANDLOCK_ACCESS_FS_REFER
	truncateV3 = unix.LANDLOCK_ACCESS_FS_TRUNCATE
	// Rights that apply to a file (rather than to a directory's entries).
	fileRights = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	// netPortRule is LANDLOCK_RULE_NET_PORT (ABI 4).
	netPortRule = 2
)

// ErrUnsupported is returned where the kernel has no Landlock (not built
// in, or not enabled in the lsm= list).
var ErrUnsupported = errors.New("landlock is not supported by this kernel")

// ABI returns the kernel's Landlock ABI version (1 or more).
func ABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno == unix.ENOSYS || errno == unix.EOPNOTSUPP {
		return 0, ErrUnsupported
	}
	if errno != 0 {
		return 0, os.NewSyscallError("landlock_create_ruleset", errno)
	}
	return int(v), nil
}

// Options are what the payload may still do.
type Options struct {
	// Writable are paths (directories or files) beneath which writes stay
	// allowed; paths that do not exist are skipped.
	Writable []string
	// ConnectTCP, if not nil, are the only TCP ports the payload may
	// connect to (ABI 4 and later; ignored before).
	ConnectTCP []uint16
}

type netPortAttr struct {
	allowed uint64
	port    uint64
}

// Restrict confines the calling thread and what it execs; it returns the
// ABI it applied. no_new_privs must be set. Must be called with the OS
// thread locked: Landlock applies to the calling thread only, which must
// be the one that execs the payload.
func Restrict(o Options) (int, error) {
	abi, err := ABI()
	if err != nil {
		return 0, err
	}
	attr := unix.LandlockRulesetAttr{Handled_access_fs: writeV1}
	if abi >= 2 {
		attr.Handled_access_fs |= referV2
	}
	if abi >= 3 {
		attr.Handled_access_fs |= truncateV3
	}
	if abi >= 4 && o.ConnectTCP != nil {
		attr.Handled_access_net = unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	// The attribute's size names the fields the kernel reads: those of
	// ABI 4 (fs and net); the scoped and quiet fields stay unsent.
	size := unsafe.Offsetof(attr.Scoped)
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return 0, os.NewSyscallError("landlock_create_ruleset", errno)
	}
	ruleset := int(fd)
	defer unix.Close(ruleset)
	for _, p := range o.Writable {
		if err := addPath(ruleset, p, attr.Handled_access_fs); err != nil {
			return 0, err
		}
	}
	if attr.Handled_access_net != 0 {
		for _, port := range o.ConnectTCP {
			rule := netPortAttr{allowed: unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, port: uint64(port)}
			if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), netPortRule, uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
				return 0, os.NewSyscallError(fmt.Sprintf("landlock_add_rule port %d", port), errno)
			}
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
		return 0, os.NewSyscallError("landlock_restrict_self", errno)
	}
	return abi, nil
}

// addPath allows the handled rights beneath path (only the file rights if
// it is not a directory).
func addPath(ruleset int, path string, handled uint64) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "opening for landlock", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	rights := handled
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		rights &= fileRights
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: rights, Parent_fd: int32(fd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
		return &os.PathError{Op: "landlock_add_rule", Path: path, Err: errno}
	}
	return nil
}
