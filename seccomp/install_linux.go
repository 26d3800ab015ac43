package seccomp

import (
	"os"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Install loads prog as a seccomp filter on every thread of this process
// (SECCOMP_FILTER_FLAG_TSYNC), so that whichever thread execs next carries
// it into the payload. no_new_privs must already be set.
func Install(prog []bpf.RawInstruction) error {
	_, err := install(prog, unix.SECCOMP_FILTER_FLAG_TSYNC)
	return err
}

func install(prog []bpf.RawInstruction, flags uintptr) (int, error) {
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return 0, os.NewSyscallError("seccomp SECCOMP_SET_MODE_FILTER", errno)
	}
	return int(r), nil
}

// Available reports whether the kernel offers seccomp filters.
func Available() error {
	if err := unix.Prctl(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_GET_SECCOMP", err)
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&[]uint32{retErrno}[0])))
	if errno != 0 {
		return os.NewSyscallError("seccomp SECCOMP_GET_ACTION_AVAIL", errno)
	}
	return nil
}
