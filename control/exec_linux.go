package control

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

// ExecError is a process that could not be started: Code is 126 or 127.
type ExecError struct {
	Code int
	Msg  string
}

func (e *ExecError) Error() string { return e.Msg }

// Exec starts a process in a running sandbox through its supervisor and
// init (sandbox's control_linux.go and initexec_linux.go), relays the
// terminal or the streams and signals, and returns the process's wait
// status (sandbox.ExitStatus makes it an exit code, as for a run). A
// process that cannot start is an *ExecError.
func Exec(o ExecOptions) (syscall.WaitStatus, error) {
	if !o.Run.Running() {
		return 0, &runs.NotRunningError{Run: o.Run}
	}
	stdin, stdout, stderr := orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)
	conn, err := dial(o.Run.Dir)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	req := o.Request
	pipes, fds, err := execStreams(&req, stdin, stdout, stderr)
	if err != nil {
		return 0, err
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, console.ForwardedSignals...)
	defer signal.Stop(sigs)
	err = Send(conn, message{Type: MsgExec, Exec: &req}, fds...)
	if pipes != nil {
		pipes.CloseChildEnds()
	}
	if err != nil {
		return 0, fmt.Errorf("sending %q on the control socket: %w", MsgExec, err)
	}
	var term *console.Terminal
	defer func() { term.Close() }()
	msgs := receive(conn)
	for {
		select {
		case sig := <-sigs:
			if sig == unix.SIGWINCH {
				term.Resize()
				continue
			}
			_ = Send(conn, message{Type: MsgSignal, Signal: int(sig.(syscall.Signal))})
		case <-term.HungUp():
			// As run does: the signal, and the end of the process's input.
			_ = Send(conn, message{Type: MsgSignal, Signal: int(unix.SIGHUP)})
			term.HangUp()
		case m := <-msgs:
			if m.err != nil {
				return 0, m.err
			}
			if m.msg.Type != MsgExecConsole {
				CloseAll(m.files) // only the console brings an fd we keep
			}
			switch m.msg.Type {
			case MsgExecConsole:
				if len(m.files) > 1 {
					CloseAll(m.files[1:])
				}
				if term, err = console.Attach(first(m.files), stdin, stdout); err != nil {
					return 0, err
				}
			case MsgExecStarted:
			case MsgExecFailed:
				if m.msg.Code == CodeSetup {
					return 0, errors.New(m.msg.Error)
				}
				return 0, &ExecError{Code: m.msg.Code, Msg: m.msg.Error}
			case MsgExecExited:
				term.Drain()
				pipes.Drain()
				return syscall.WaitStatus(m.msg.Status), nil
			default: // EOF: the sandbox ended under us
				term.Drain()
				return 0, fmt.Errorf("run %s ended before the process did", o.Run.ID)
			}
		}
	}
}

// execStreams readies what the process reads and writes: with a terminal
// its size (init opens the PTY); else pipes copied to ours, whose child
// ends go in the request (a terminal is never handed over).
func execStreams(req *ExecRequest, stdin, stdout, stderr *os.File) (*console.Pipes, []int, error) {
	if req.Terminal {
		req.Size, _ = console.GetSize(int(stdin.Fd()))
		return nil, nil, nil
	}
	pipes, err := console.NewPipes(stdin, stdout, stderr)
	if err != nil {
		return nil, nil, err
	}
	var fds []int
	for _, f := range pipes.Child {
		fds = append(fds, int(f.Fd()))
	}
	return pipes, fds, nil
}

type received struct {
	msg   message
	files []*os.File
	err   error
}

// receive reads the supervisor's messages until the exec's end.
func receive(conn *os.File) <-chan received {
	ch := make(chan received, 4)
	go func() {
		for {
			var m message
			files, err := Recv(conn, &m)
			if err != nil {
				err = fmt.Errorf("reading the control socket: %w", err)
			}
			ch <- received{m, files, err}
			if err != nil || m.Type == "" || m.Type == MsgExecExited || m.Type == MsgExecFailed {
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
	conn, err := dial(r.Dir)
	if err != nil {
		return r, err
	}
	ms := grace.Milliseconds()
	if ms == 0 && grace > 0 {
		ms = 1
	}
	err = Send(conn, message{Type: MsgStop, TimeoutMS: ms})
	conn.Close()
	if err != nil {
		return r, fmt.Errorf("sending %q on the control socket: %w", MsgStop, err)
	}
	return runs.WaitExited(r, grace+30*time.Second)
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

func first(files []*os.File) *os.File {
	if len(files) == 0 {
		return nil
	}
	return files[0]
}
