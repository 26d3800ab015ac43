package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"sandbox/console"
)

// terminal connects the user's terminal to the PTY master from init.
type terminal struct {
	master  *os.File
	user    *os.File // the user's terminal, if stdin is one
	raw     *console.State
	outDone chan struct{}
	hangup  chan struct{} // closed when the user's terminal goes away
	once    sync.Once
}

func attachTerminal(master, stdin, stdout *os.File) (*terminal, error) {
	if master == nil {
		return nil, errors.New("init sent no pty master")
	}
	t := &terminal{master: master, outDone: make(chan struct{}), hangup: make(chan struct{})}
	if console.IsTerminal(int(stdin.Fd())) {
		raw, err := console.MakeRaw(int(stdin.Fd()))
		if err != nil {
			return nil, fmt.Errorf("setting the terminal to raw mode: %w", err)
		}
		t.user, t.raw = stdin, raw
		t.resize()
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

func (t *terminal) resize() {
	if t == nil || t.user == nil {
		return
	}
	if size, err := console.GetSize(int(t.user.Fd())); err == nil {
		_ = console.SetSize(int(t.master.Fd()), size)
	}
}

// hungUp is closed when the user's terminal has hung up; nil (never
// ready) without a terminal.
func (t *terminal) hungUp() <-chan struct{} {
	if t == nil {
		return nil
	}
	return t.hangup
}

// drain waits for the payload's last output to be copied out.
func (t *terminal) drain() {
	if t == nil {
		return
	}
	select {
	case <-t.outDone:
	case <-time.After(2 * time.Second):
	}
}

// close restores the user's terminal; safe on every exit path.
func (t *terminal) close() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		_ = t.raw.Restore()
		t.master.Close()
	})
}
