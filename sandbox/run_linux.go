package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/cgroup"
	"sandbox/proxy"
	"sandbox/slirp"
	"sandbox/userns"
)

// RunOptions are the inputs of Run.
type RunOptions struct {
	Spec    *Spec
	Mapping *userns.Mapping
	Project string
	// Cgroup, if set, is the cgroup the sandbox starts in (CLONE_INTO_CGROUP);
	// Run destroys it at the end.
	Cgroup *cgroup.Manager
	// Net, if set, starts a user-mode network or serves the proxy.
	Net *NetOptions
	// Timeout, if set, ends the run: SIGTERM, then SIGKILL after
	// TimeoutGrace; the exit status is then 124.
	Timeout time.Duration
	// Stdin, Stdout and Stderr are the user's side; nil means os.Std*.
	Stdin, Stdout, Stderr *os.File
}

// TimeoutGrace is how long a timed-out payload has between SIGTERM and
// SIGKILL (docker stop's default).
const TimeoutGrace = 10 * time.Second

// ExitTimeout is the exit status of a run ended by its timeout, as
// timeout(1) has it.
const ExitTimeout = 124

// Result is how a run ended.
type Result struct {
	Code     int           `json:"exit_code"`
	Duration time.Duration `json:"-"`
	TimedOut bool          `json:"timed_out"`
	// OOMKilled: the kernel killed a process for exceeding memory.max.
	OOMKilled bool          `json:"oom_killed"`
	Stats     *cgroup.Stats `json:"cgroup,omitempty"`
	// NetworkBackend is the slirp helper used, if any.
	NetworkBackend string `json:"network_backend,omitempty"`
	// NetworkDenied is what the proxy denied, in network mode proxy.
	NetworkDenied []proxy.Denial `json:"network_denied,omitempty"`
}

// NetOptions are the network's parent-side parts.
type NetOptions struct {
	Slirp *slirp.Config // a helper to start: slirp mode, or ports in proxy mode
	Proxy *proxy.Policy // serve the proxy on the listeners init sends
}

// Run starts the sandbox Spec describes, waits for its payload and returns
// how it ended: its exit code (128+n for signal n, 124 for the timeout).
// An error means the sandbox could not be set up, or the payload could not
// be started (*ExecError).
func Run(o RunOptions) (*Result, error) {
	start := time.Now()
	res := &Result{}
	if o.Cgroup != nil {
		defer func() {
			if err := o.Cgroup.Destroy(); err != nil {
				slog.Warn("removing the sandbox's cgroup", "err", err)
			}
		}()
	}
	code, err := run(o, res)
	res.Code, res.Duration = code, time.Since(start)
	if o.Cgroup != nil {
		st := o.Cgroup.Stats()
		res.Stats = &st
		res.OOMKilled = st.OOMKills > 0
	}
	if res.TimedOut {
		res.Code = ExitTimeout
	}
	return res, err
}

func run(o RunOptions, res *Result) (int, error) {
	stdin, stdout, stderr := orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)
	rec, err := register(RunInfo{PID: os.Getpid(), Project: o.Project, Args: o.Spec.Process.Args, Started: time.Now()})
	if err != nil {
		return 0, err
	}
	defer rec.release()
	o.Spec.Scratch = rec.scratch

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
	if o.Cgroup != nil {
		dir, err := o.Cgroup.Open()
		if err != nil {
			return 0, err
		}
		defer dir.Close()
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(dir.Fd())
	}
	if o.Spec.Network == NetHost {
		cmd.SysProcAttr.Cloneflags &^= syscall.CLONE_NEWNET
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
	var srv *proxy.Server
	if o.Net != nil && o.Net.Slirp != nil {
		network, err := slirp.Start(*o.Net.Slirp, pid)
		if err != nil {
			kill()
			return 0, fmt.Errorf("starting the network: %w", err)
		}
		defer network.Close()
		res.NetworkBackend = network.Backend()
	}
	if o.Net != nil && o.Net.Proxy != nil {
		srv = proxy.New(*o.Net.Proxy)
		defer func() { srv.Close(); res.NetworkDenied = srv.Denied() }()
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
	var timeout, grace <-chan time.Time
	if o.Timeout > 0 {
		timeout = time.After(o.Timeout)
	}
	for {
		select {
		case <-timeout:
			res.TimedOut = true
			_ = unix.Kill(pid, unix.SIGTERM)
			grace = time.After(TimeoutGrace)
		case <-grace:
			_ = unix.Kill(pid, unix.SIGKILL)
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
				if term, err = attachTerminal(first(r.files), stdin, stdout); err != nil {
					kill()
					return 0, err
				}
			case msgListeners:
				if srv == nil || len(r.files) != 2 {
					kill()
					return 0, errors.New("init sent proxy listeners that were not asked for")
				}
				if err := serveProxy(srv, r.files); err != nil {
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

// serveProxy serves the HTTP and SOCKS5 listeners init made in the sandbox.
func serveProxy(srv *proxy.Server, files []*os.File) error {
	var ls []net.Listener
	for _, f := range files {
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("taking over the proxy's listener: %w", err)
		}
		ls = append(ls, l)
	}
	go srv.ServeHTTP(ls[0])
	go srv.ServeSOCKS(ls[1])
	return nil
}
