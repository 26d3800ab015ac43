package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/console"
	"sandbox/runs"
)

// ExecOptions are the inputs of Exec.
type ExecOptions struct {
	Run     runs.Status
	Request ExecRequest
	// Stdin, Stdout and Stderr are the user's side; nil means os.Std*.
	Stdin, Stdout, Stderr *os.File
}

// Exec starts a process in a running sandbox through its supervisor and
// init (control_linux.go), relays the terminal or the streams and signals,
// and returns the process's exit code as Run does: its own, 128+n for
// signal n, 126/127 (ExecError) when it cannot start.
func Exec(o ExecOptions) (int, error) {
	if !o.Run.Running() {
		return 0, &runs.NotRunningError{Run: o.Run}
	}
	stdin, stdout, stderr := orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)
	conn, err := dialControl(o.Run.Dir)
	if err != nil {
		return 0, err
	}
	defer conn.f.Close()
	req := o.Request
	var pipes *console.Pipes
	var fds []int
	if req.Terminal {
		req.Size, _ = console.GetSize(int(stdin.Fd()))
	} else {
		// Never hand a terminal over: the process gets pipes copied to it.
		if pipes, err = console.NewPipes(stdin, stdout, stderr); err != nil {
			return 0, err
		}
		for _, f := range pipes.Child {
			fds = append(fds, int(f.Fd()))
		}
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, console.ForwardedSignals...)
	defer signal.Stop(sigs)
	err = conn.send(message{Type: msgExec, Exec: &req}, fds...)
	if pipes != nil {
		pipes.CloseChildEnds()
	}
	if err != nil {
		return 0, err
	}
	var term *console.Terminal
	defer func() { term.Close() }()
	msgs := receiveExec(conn)
	for {
		select {
		case sig := <-sigs:
			if sig == unix.SIGWINCH {
				term.Resize()
				continue
			}
			_ = conn.send(message{Type: msgSignal, Signal: int(sig.(syscall.Signal))})
		case m := <-msgs:
			if m.err != nil {
				return 0, m.err
			}
			switch m.msg.Type {
			case msgExecConsole:
				if term, err = console.Attach(first(m.files), stdin, stdout); err != nil {
					return 0, err
				}
			case msgExecStarted:
			case msgExecFailed:
				if m.msg.Code == ExitSetup {
					return 0, errors.New(m.msg.Error)
				}
				return 0, &ExecError{Code: m.msg.Code, Msg: m.msg.Error}
			case msgExecExited:
				term.Drain()
				pipes.Drain()
				return ExitStatus(syscall.WaitStatus(m.msg.Status)), nil
			default: // EOF: the sandbox ended under us
				term.Drain()
				return 0, fmt.Errorf("run %s ended before the process did", o.Run.ID)
			}
		}
	}
}

func receiveExec(conn syncSocket) <-chan received {
	ch := make(chan received, 4)
	go func() {
		for {
			m, files, err := conn.recv()
			ch <- received{m, files, err}
			if err != nil || m.Type == "" || m.Type == msgExecExited || m.Type == msgExecFailed {
				return
			}
		}
	}()
	return ch
}

// Stop ends a running run the way --timeout does: SIGTERM to its payload,
// SIGKILL after grace; it waits until the run's supervisor is gone (its
// cgroup, network helper and mounts with it) and returns how it ended.
func Stop(r runs.Status, grace time.Duration) (runs.Status, error) {
	if !r.Running() {
		return r, &runs.NotRunningError{Run: r}
	}
	conn, err := dialControl(r.Dir)
	if err != nil {
		return r, err
	}
	ms := grace.Milliseconds()
	if ms == 0 && grace > 0 {
		ms = 1
	}
	err = conn.send(message{Type: msgStop, TimeoutMS: ms})
	conn.f.Close()
	if err != nil {
		return r, err
	}
	return runs.WaitExited(r, grace+30*time.Second)
}
