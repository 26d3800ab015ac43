package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// probe is a helper command (this test binary run as "probe"): each
// argument names a system call it tries inside the sandbox, printing
// "NAME: ok" or "NAME: ERRNO" (e.g. "bpf: EPERM") per line. The calls use
// arguments that the kernel itself would reject with another error (EINVAL,
// EFAULT), so that EPERM can only come from the filter.
func probe() {
	// Closing the pty that ttyIoctl makes the controlling terminal hangs
	// it up.
	signal.Ignore(syscall.SIGHUP)
	for _, name := range os.Args[1:] {
		fn, ok := probes[name]
		if !ok {
			fmt.Printf("%s: unknown probe\n", name)
			continue
		}
		if err := fn(); err != nil {
			fmt.Printf("%s: %s\n", name, errnoName(err))
		} else {
			fmt.Printf("%s: ok\n", name)
		}
	}
}

func errnoName(err error) string {
	if e, ok := err.(syscall.Errno); ok {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
	}
	return err.Error()
}

func raw(nr uintptr, args ...uintptr) error {
	a := make([]uintptr, 6)
	copy(a, args)
	_, _, e := unix.RawSyscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	return nil
}

// x32 marks an x32 system call on x86_64.
const x32 = 0x40000000

var probes = map[string]func() error{
	// The canary key the test added to the host's session keyring.
	"keyring": func() error {
		id, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", "sandbox-test-canary", 0)
		if err != nil {
			return err
		}
		buf := make([]byte, 256)
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return err
		}
		fmt.Printf("keyring: read %q\n", buf[:min(n, len(buf))])
		return nil
	},
	"add_key": func() error {
		_, err := unix.AddKey("user", "sandbox-test-inside", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
		return err
	},
	// Zero entries: EINVAL from the kernel.
	"io_uring_setup": func() error { return raw(unix.SYS_IO_URING_SETUP, 0, 0) },
	// An unknown command: EINVAL from the kernel.
	"bpf":             func() error { return raw(unix.SYS_BPF, 9999, 0, 0) },
	"perf_event_open": func() error { return raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0) },
	"userfaultfd":     func() error { return raw(unix.SYS_USERFAULTFD, 0xffffffff) },
	"fsopen": func() error {
		p, _ := unix.BytePtrFromString("tmpfs")
		return raw(unix.SYS_FSOPEN, uintptr(unsafe.Pointer(p)), 0)
	},
	// A Go program is multi-threaded: the kernel refuses
	// unshare(CLONE_NEWUSER) with EINVAL, the filter with EPERM.
	"unshare_userns": func() error { return raw(unix.SYS_UNSHARE, unix.CLONE_NEWUSER) },
	"clone_userns": func() error {
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		err := cmd.Run()
		if pe, ok := err.(*os.PathError); ok {
			return pe.Err
		}
		return err
	},
	// A size too small for struct clone_args: EINVAL from the kernel.
	"clone3":            func() error { return raw(unix.SYS_CLONE3, 0, 0) },
	"personality_query": func() error { return raw(unix.SYS_PERSONALITY, 0xffffffff) },
	"personality_noaslr": func() error {
		return raw(unix.SYS_PERSONALITY, 0x0040000) // ADDR_NO_RANDOMIZE
	},
	"tiocsti":      func() error { return ttyIoctl(unix.TIOCSTI) },
	"tiocsti_high": func() error { return ttyIoctl(1<<32 | unix.TIOCSTI) },
	"tioclinux":    func() error { return ttyIoctl(1<<32 | unix.TIOCLINUX) },
	// x32 calls reuse x86_64 numbers with bit 30 set: keyctl to read
	// the session keyring's id, and getpid.
	"x32_keyctl": func() error {
		return raw(x32|unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(uint32(0xfffffffd)), 0) // @s
	},
	"x32_getpid": func() error { return raw(x32 | unix.SYS_GETPID) },
	// A debugger's start: the child stops at its exec, the tracer (this
	// thread) lets it go on.
	"ptrace_child": func() error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
		if err := cmd.Start(); err != nil {
			return err
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(cmd.Process.Pid, &ws, 0, nil); err != nil {
			return err
		}
		if !ws.Stopped() {
			return fmt.Errorf("the traced child did not stop: %v", ws)
		}
		if err := unix.PtraceCont(cmd.Process.Pid, 0); err != nil {
			return err
		}
		return cmd.Wait()
	},
}

// ttyIoctl pushes one byte into the input of a terminal of the probe's
// own (a new pty that becomes its controlling terminal: it leads its
// session), with cmd passed as the full 64-bit argument.
func ttyIoctl(cmd uintptr) error {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return err
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer tty.Close()
	_ = unix.IoctlSetInt(int(tty.Fd()), unix.TIOCSCTTY, 0)
	c := byte('x') // for TIOCLINUX an unknown subcode; a pty is no VT anyway
	return raw(unix.SYS_IOCTL, tty.Fd(), cmd, uintptr(unsafe.Pointer(&c)))
}
