package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Terminal connects the user's terminal to a PTY master that a sandbox's
// init handed back (for its payload, or a process of `sandbox exec`).
type Terminal struct {
	master  *os.File
	user    *os.File // the user's terminal, if stdin is one
	raw     *State
	outDone chan struct{}
	hangup  chan struct{} // closed when the user's terminal goes away
	once    sync.Once
}

// Attach copies stdin to master and master to stdout; when stdin is a
// terminal, it puts it in raw mode and gives master its size.
func Attach(master, stdin, stdout *os.File) (*Terminal, error) {
	if master == nil {
		return nil, errors.New("init sent no pty master")
	}
	master, err := pollable(master)
	if err != nil {
		return nil, err
	}
	t := &Terminal{master: master, outDone: make(chan struct{}), hangup: make(chan struct{})}
	if IsTerminal(int(stdin.Fd())) {
		raw, err := MakeRaw(int(stdin.Fd()))
		if err != nil {
			return nil, fmt.Errorf("setting the terminal to raw mode: %w", err)
		}
		t.user, t.raw = stdin, raw
		t.Resize()
	}
	hangup := t.hangup
	go func() {
		_, _ = io.Copy(master, stdin)
		if t.user == nil {
			// Piped input has ended: end-of-file for the line discipline
			// too, or `echo ls | sandbox shell` would never return.
			_, _ = master.Write([]byte{4})
			return
		}
		// A terminal in raw mode (VMIN=1) ends a read only when it is
		// hung up: its master closed, EOF or EIO. The kernel sends
		// SIGHUP only to the session the terminal controls, and
		// `sandbox` may not be in it (started under runuser, setsid,
		// a multiplexer that forgot it): without this the shell would
		// go on with nobody at the keyboard.
		close(hangup)
	}()
	go func() {
		// EIO once every slave fd is closed: the end of the output.
		_, _ = io.Copy(stdout, master)
		close(t.outDone)
	}()
	return t, nil
}

// Resize gives the PTY the user's terminal's size (on SIGWINCH).
func (t *Terminal) Resize() {
	if t == nil || t.user == nil {
		return
	}
	if size, err := GetSize(int(t.user.Fd())); err == nil {
		// Through the raw conn: Fd would put the master back into
		// blocking mode, and HangUp could no longer end its readers.
		if rc, err := t.master.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { _ = SetSize(int(fd), size) })
		}
	}
}

// pollable gives master to the runtime's poller (a non-blocking copy of
// the fd, the original closed), so that closing it ends the copies
// blocked on it.
func pollable(master *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(master.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC (pty master)", err)
	}
	master.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl O_NONBLOCK (pty master)", err)
	}
	return os.NewFile(uintptr(fd), "ptmx"), nil
}

// HangUp hangs the payload's terminal up, as the user's own terminal
// did: the PTY master closes, so the payload's reads end (EOF) and its
// session leader gets SIGHUP from the kernel. A shell that set a SIGHUP
// aside until its next read (bash's readline) ends too.
func (t *Terminal) HangUp() {
	if t != nil {
		t.hangup = nil
		t.master.Close()
	}
}

// HungUp is closed when the user's terminal has hung up; nil (never
// ready) without a terminal, or once HangUp has been called.
func (t *Terminal) HungUp() <-chan struct{} {
	if t == nil {
		return nil
	}
	return t.hangup
}

// Drain waits for the payload's last output to be copied out.
func (t *Terminal) Drain() {
	if t == nil {
		return
	}
	select {
	case <-t.outDone:
	case <-time.After(2 * time.Second):
	}
}

// Close restores the user's terminal; safe on every exit path, and on a
// nil Terminal.
func (t *Terminal) Close() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		_ = t.raw.Restore()
		t.master.Close()
	})
}
