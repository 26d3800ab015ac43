package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/console"
	"sandbox/network"
)

// relay is the parent's side of a started sandbox.
type relay struct {
	pid           int
	initDone      <-chan syscall.WaitStatus
	sock          syncSocket
	pipes         *console.Pipes
	term          *console.Terminal
	net           network.Driver
	stdin, stdout *os.File
	ctl           *controller // exec and stop requests
	started       func()
	// keptCaps: init was started at stage 1 with ambient capabilities,
	// and reads the Spec before "mapped".
	keptCaps bool
	// running: init reported the payload's start. Before, init may not
	// catch signals yet (as pid 1 it would drop them).
	running bool
}

// abort kills init, waits for it, and returns err.
func (r *relay) abort(err error) error {
	_ = unix.Kill(r.pid, unix.SIGKILL)
	<-r.initDone
	return err
}

// wait forwards signals, attaches the terminal and the proxy as init sends
// them, enforces the timeout, and returns the payload's exit code when
// init reports the end (or dies).
func (r *relay) wait(timeoutAfter time.Duration, res *Result) (int, error) {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, console.ForwardedSignals...)
	defer signal.Stop(sigs)
	msgs := receive(r.sock)
	var timeout, grace <-chan time.Time
	if timeoutAfter > 0 {
		timeout = time.After(timeoutAfter)
	}
	for {
		select {
		case req := <-r.ctl.reqs():
			if after, kill := r.ctl.handle(req, r); kill {
				_ = unix.Kill(r.pid, unix.SIGKILL)
			} else if after > 0 {
				grace = time.After(after)
			}
		case <-timeout:
			res.TimedOut = true
			_ = unix.Kill(r.pid, unix.SIGTERM)
			grace = time.After(TimeoutGrace)
		case <-grace:
			_ = unix.Kill(r.pid, unix.SIGKILL)
		case sig := <-sigs:
			if sig == unix.SIGWINCH {
				// A resize: the terminal's size goes to the payload's
				// (none before it is attached, none without one), and it
				// never ends a run.
				if r.term != nil {
					r.term.Resize()
				} else if r.running {
					_ = unix.Kill(r.pid, unix.SIGWINCH)
				}
				continue
			}
			if !r.running {
				// Init may not catch it yet: as pid 1 of its namespace it
				// would ignore it, or the runtime's default would end it
				// with a status of its own. The run ends as the payload
				// would have ended by the signal (review 18b, F1).
				_ = r.abort(nil)
				return exitSignalShift + int(sig.(syscall.Signal)), nil
			}
			_ = unix.Kill(r.pid, sig.(syscall.Signal))
		case <-r.term.HungUp():
			// The user's terminal ended without a SIGHUP reaching us:
			// end the session as the hang-up would have, the signal and
			// the end of its input.
			_ = unix.Kill(r.pid, unix.SIGHUP)
			r.term.HangUp()
		case m := <-msgs:
			if m.msg.Type == msgExited {
				res.SyscallsDenied = m.msg.Denied
			}
			code, done, err := r.handle(m)
			if done && err != nil && res.TimedOut {
				// The timeout ended the run before the payload started
				// (a slow start under a small cpu.max): it timed out.
				return ExitTimeout, nil
			}
			if done {
				return code, err
			}
		}
	}
}

// handle acts on one message from init; done means the run is over.
func (r *relay) handle(m received) (code int, done bool, err error) {
	if m.err != nil {
		return 0, true, r.abort(m.err)
	}
	if r.ctl.fromInit(m) {
		return 0, false, nil
	}
	switch m.msg.Type {
	case msgConsole:
		if r.term, err = console.Attach(first(m.files), r.stdin, r.stdout); err != nil {
			return 0, true, r.abort(err)
		}
	case msgNetwork:
		if err := r.net.Take(m.files); err != nil {
			return 0, true, r.abort(err)
		}
	case msgStarted:
		r.running = true
		if r.started != nil {
			r.started()
		}
	case msgError:
		<-r.initDone
		return 0, true, &SetupError{Msg: m.msg.Error, Fix: m.msg.Hint}
	case msgExecError:
		<-r.initDone
		return 0, true, &ExecError{Code: m.msg.Code, Msg: m.msg.Error}
	case msgExited:
		<-r.initDone
		r.term.Drain()
		r.pipes.Drain()
		return ExitStatus(syscall.WaitStatus(m.msg.Status)), true, nil
	default: // EOF: init died without a word
		ws := <-r.initDone
		r.term.Drain()
		r.pipes.Drain()
		if ws.Signaled() {
			return ExitStatus(ws), true, nil
		}
		return 0, true, fmt.Errorf("sandbox init exited with status %d before the payload finished", ws.ExitStatus())
	}
	return 0, false, nil
}

type received struct {
	msg   message
	files []*os.File
	err   error
}

// receive reads messages until EOF or "exited".
func receive(sock syncSocket) <-chan received {
	ch := make(chan received, 4)
	go func() {
		for {
			m, files, err := sock.recv()
			ch <- received{m, files, err}
			if err != nil || m.Type == "" || m.Type == msgExited || m.Type == msgError || m.Type == msgExecError {
				return
			}
		}
	}()
	return ch
}

func first(files []*os.File) *os.File {
	if len(files) == 0 {
		return nil
	}
	return files[0]
}
