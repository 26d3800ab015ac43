package seccomp

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// InstallNotify loads a program from CompileNotify and returns its
// listener. Without SECCOMP_FILTER_FLAG_TSYNC (the kernel refuses it with
// a listener before 5.7): the filter holds on the calling thread, which
// must be the one that execs. Must be called with the OS thread locked.
func InstallNotify(prog []bpf.RawInstruction) (listener *os.File, err error) {
	fd, err := install(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "seccomp-listener"), nil
}

// struct seccomp_notif and struct seccomp_notif_resp (linux/seccomp.h).
type notif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

type notifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

// Serve answers the listener's notifications until the last process under
// the filter is gone: each denied call fails with EPERM, as the kernel
// would have failed it, and is passed to denied by name.
func Serve(listener *os.File, denied func(name string)) {
	defer listener.Close() // also keeps its finalizer from closing fd
	fd := listener.Fd()
	for {
		// The listener hangs up when no process uses the filter any more.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			continue
		}
		var req notif
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
				continue // a signal, or the caller died before we read it
			}
			return
		}
		denied(Name(uint32(req.nr)))
		resp := notifResp{id: req.id, error: -int32(unix.EPERM)}
		_ = ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
	}
}

func ioctl(fd uintptr, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// Name is the table's name for a native syscall number.
func Name(nr uint32) string {
	for name, n := range numbers {
		if n == nr {
			return name
		}
	}
	return "unknown"
}
