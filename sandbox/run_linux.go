package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/console"
	"sandbox/userns"
)

// RunOptions are the inputs of Run.
type RunOptions struct {
	Spec    *Spec
	Mapping *userns.Mapping
	Project string
	// Stdin, Stdout and Stderr are the user's side; nil means os.Std*.
	Stdin, Stdout, Stderr *os.File
}

// Run starts the sandbox Spec describes, waits for its payload and returns
// the payload's exit code (128+n for signal n). An error means the sandbox
// could not be set up, or the payload could not be started (*ExecError).
func Run(o RunOptions) (int, error) {
	stdin, stdout, stderr := orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)
	rec, err := register(RunInfo{PID: os.Getpid(), Project: o.Project, Args: o.Spec.Process.Args, Started: time.Now()})
	if err != nil {
		return 0, err
	}
	defer rec.release()

	// 1. Start init in new namespaces.
	parentEnd, childEnd, err := newSocketPair()
	if err != nil {
		return 0, err
	}
	sock := syncSocket{parentEnd}
	defer parentEnd.Close()
	cmd := initCommand("1")
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = stderr
	var pipes *stdioPipes
	if !o.Spec.Process.Terminal {
		if pipes, err = newStdioPipes(stdin, stdout, stderr); err != nil {
			return 0, err
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pipes.child[0], pipes.child[1], pipes.child[2]
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET | syscall.CLONE_NEWCGROUP,
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true, // the terminal's signals reach the payload once, through us
	}
	initDone, err := startLocked(cmd)
	childEnd.Close()
	if pipes != nil {
		pipes.closeChildEnds()
	}
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EINVAL) {
			return 0, userns.Explain(err)
		}
		return 0, fmt.Errorf("starting sandbox init: %w", err)
	}
	pid := cmd.Process.Pid
	kill := func() { _ = unix.Kill(pid, unix.SIGKILL); <-initDone }

	// 2. Map ids, then hand over the spec.
	if err := o.Mapping.Write(pid); err != nil {
		kill()
		return 0, err
	}
	if err := sock.send(message{Type: msgMapped}); err != nil {
		kill()
		return 0, err
	}
	if err := sock.send(message{Type: msgSpec, Spec: o.Spec}); err != nil {
		kill()
		return 0, err
	}

	// 3. Relay signals and the terminal until init reports the end.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	msgs := receive(sock)
	var term *terminal
	defer func() { term.close() }()
	for {
		select {
		case sig := <-sigs:
			if sig == unix.SIGWINCH && term != nil {
				term.resize()
				continue
			}
			_ = unix.Kill(pid, sig.(syscall.Signal))
		case r := <-msgs:
			if r.err != nil {
				kill()
				return 0, r.err
			}
			switch r.msg.Type {
			case msgConsole:
				if term, err = attachTerminal(r.file, stdin, stdout); err != nil {
					kill()
					return 0, err
				}
			case msgStarted:
			case msgError:
				<-initDone
				return 0, &SetupError{Msg: r.msg.Error, Fix: r.msg.Hint}
			case msgExecError:
				<-initDone
				return 0, &ExecError{Code: r.msg.Code, Msg: r.msg.Error}
			case msgExited:
				<-initDone
				term.drain()
				pipes.drain()
				return ExitStatus(syscall.WaitStatus(r.msg.Status)), nil
			default: // EOF: init died without a word
				ws := <-initDone
				term.drain()
				pipes.drain()
				if ws.Signaled() {
					return ExitStatus(ws), nil
				}
				return 0, fmt.Errorf("sandbox init exited with status %d before the payload finished", ws.ExitStatus())
			}
		}
	}
}

// initCommand re-executes this binary as init at stage; more args follow
// the stage's own.
func initCommand(stage string, args ...string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe", append([]string{initArg}, args...)...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = []string{InitEnv + "=" + stage}
	return cmd
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

// startLocked starts cmd from a goroutine that keeps its OS thread locked
// until the child is reaped: Pdeathsig fires when the thread that forked
// the child exits, not the process.
func startLocked(cmd *exec.Cmd) (<-chan syscall.WaitStatus, error) {
	started := make(chan error, 1)
	done := make(chan syscall.WaitStatus, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		done <- cmd.ProcessState.Sys().(syscall.WaitStatus)
	}()
	return done, <-started
}

type received struct {
	msg  message
	file *os.File
	err  error
}

// receive reads messages until EOF or "exited".
func receive(sock syncSocket) <-chan received {
	ch := make(chan received, 4)
	go func() {
		for {
			m, f, err := sock.recv()
			ch <- received{m, f, err}
			if err != nil || m.Type == "" || m.Type == msgExited || m.Type == msgError || m.Type == msgExecError {
				return
			}
		}
	}()
	return ch
}

// terminal connects the user's terminal to the PTY master from init.
type terminal struct {
	master  *os.File
	user    *os.File // the user's terminal, if stdin is one
	raw     *console.State
	outDone chan struct{}
	once    sync.Once
}

func attachTerminal(master, stdin, stdout *os.File) (*terminal, error) {
	if master == nil {
		return nil, errors.New("init sent no pty master")
	}
	t := &terminal{master: master, outDone: make(chan struct{})}
	if console.IsTerminal(int(stdin.Fd())) {
		raw, err := console.MakeRaw(int(stdin.Fd()))
		if err != nil {
			return nil, fmt.Errorf("setting the terminal to raw mode: %w", err)
		}
		t.user, t.raw = stdin, raw
		t.resize()
	}
	go func() { _, _ = io.Copy(master, stdin) }()
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
