package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/cgroup"
	"sandbox/confine"
	"sandbox/console"
	"sandbox/internal/reexec"
	"sandbox/network"
	"sandbox/proxy"
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
	// Net is the network mode's driver (network.New): it adds to init's
	// clone and runs the mode's host side.
	Net network.Driver
	// Timeout, if set, ends the run: SIGTERM, then SIGKILL after
	// TimeoutGrace; the exit status is then 124.
	Timeout time.Duration
	// Stdin, Stdout and Stderr are the user's side; nil means os.Std*.
	Stdin, Stdout, Stderr *os.File
	// Lifecycle: the run's name, whether it is detached, kept, and what
	// to call once its payload started (lifecycle_linux.go).
	Lifecycle Lifecycle
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
	// NetworkLookups are the names looked up in network mode none.
	NetworkLookups []string `json:"network_lookups,omitempty"`
	// Security is the kernel confinement the payload ran under.
	Security *confine.SecurityReport `json:"security,omitempty"`
	// SyscallsDenied counts the system calls the seccomp filter denied,
	// by name.
	SyscallsDenied map[string]int `json:"syscalls_denied,omitempty"`
}

// Run starts the sandbox Spec describes, waits for its payload and returns
// how it ended: its exit code (128+n for signal n, 124 for the timeout).
// An error means the sandbox could not be set up, or the payload could not
// be started (*ExecError).
func Run(o RunOptions) (*Result, error) {
	start := time.Now()
	res := &Result{}
	if o.Spec != nil {
		user := "self"
		if o.Spec.Process.UID == 0 {
			user = "root"
		}
		sec := confine.Security(o.Spec.Security, user, o.Spec.Network)
		res.Security = &sec
	}
	rec, err := register(o.runInfo())
	if err != nil {
		return res, err
	}
	defer rec.Release()
	if o.Cgroup != nil {
		defer func() {
			if err := o.Cgroup.Destroy(); err != nil {
				slog.Warn("removing the sandbox's cgroup", "err", err)
			}
		}()
	}
	code, err := run(o, rec, res)
	res.Code, res.Duration = code, time.Since(start)
	if o.Cgroup != nil {
		st := o.Cgroup.Stats()
		res.Stats = &st
		res.OOMKilled = st.OOMKills > 0
	}
	if res.TimedOut {
		res.Code = ExitTimeout
	}
	rec.finish(res, err)
	return res, err
}

func run(o RunOptions, rec *record, res *Result) (int, error) {
	stdin, stdout, stderr := orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)
	if o.Net == nil {
		return 0, errors.New("no network driver for the run (RunOptions.Net: network.New)")
	}
	o.Spec.Scratch = rec.Scratch()
	ctl, err := listenControl(rec.Dir())
	if err != nil {
		return 0, err
	}
	defer ctl.close()
	rec.ctl = ctl
	stdout, stderr, closeLog, err := o.Lifecycle.startLog(rec.Dir(), stdout, stderr)
	if err != nil {
		return 0, err
	}
	defer closeLog()

	// 1. Start init in new namespaces.
	parentEnd, childEnd, err := newSocketPair()
	if err != nil {
		return 0, err
	}
	sock := syncSocket{parentEnd}
	defer parentEnd.Close()
	var pipes *console.Pipes
	if !o.Spec.Process.Terminal {
		if pipes, err = console.NewPipes(stdin, stdout, stderr); err != nil {
			return 0, err
		}
	}
	cmd, closeCmd, err := sandboxInit(o, childEnd, pipes, stderr)
	if err != nil {
		return 0, err
	}
	initDone, err := startLocked(cmd)
	closeCmd()
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EINVAL) {
			return 0, userns.Explain(err)
		}
		return 0, fmt.Errorf("starting sandbox init: %w", err)
	}
	r := &relay{pid: cmd.Process.Pid, initDone: initDone, sock: sock, pipes: pipes, stdin: stdin, stdout: stdout, ctl: ctl, started: o.Lifecycle.started(rec), net: o.Net}

	// 2. Map ids (a single-id map is already written), start the network,
	// then hand over the spec.
	if !o.Mapping.Single() {
		if err := o.Mapping.Write(r.pid); err != nil {
			return 0, r.abort(err)
		}
		if err := sock.send(message{Type: msgMapped}); err != nil {
			return 0, r.abort(err)
		}
	}
	if err := o.Net.Start(r.pid, liveHolders); err != nil {
		return 0, r.abort(err)
	}
	defer func() {
		rep := o.Net.Stop()
		res.NetworkBackend, res.NetworkDenied, res.NetworkLookups = rep.Backend, rep.Denied, rep.Lookups
	}()
	if err := sock.send(message{Type: msgSpec, Spec: o.Spec}); err != nil {
		return 0, r.abort(err)
	}

	// 3. Relay signals and the terminal until init reports the end.
	defer func() { r.term.Close() }()
	return r.wait(o.Timeout, res)
}

// sandboxInit prepares the command that starts init in new namespaces,
// and returns what to close once it started.
func sandboxInit(o RunOptions, childEnd *os.File, pipes *console.Pipes, stderr *os.File) (*exec.Cmd, func(), error) {
	// A single-id map needs no helper: the runtime writes it (setgroups
	// "deny" first) between clone and exec, so init is exec'd once, already
	// uid 0 with the namespace's capabilities, and skips the stage that
	// waits for the helpers' maps and execs again: one Go start fewer.
	stage := "1"
	if o.Mapping.Single() {
		stage = "2"
	}
	cmd := initCommand(stage)
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = stderr
	if pipes != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pipes.Child[0], pipes.Child[1], pipes.Child[2]
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWCGROUP | o.Net.CloneFlags(),
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true, // the terminal's signals reach the payload once, through us
	}
	if stage == "2" {
		cmd.SysProcAttr.UidMappings = sysMaps(o.Mapping.UIDs)
		cmd.SysProcAttr.GidMappings = sysMaps(o.Mapping.GIDs)
	}
	closers := []func(){func() { childEnd.Close() }}
	inherited, err := o.Net.Inherit()
	if err != nil {
		return nil, nil, err
	}
	for _, f := range inherited {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f) // network.WatchFD on
		closers = append(closers, func() { f.Close() })
	}
	if pipes != nil {
		closers = append(closers, pipes.CloseChildEnds)
	}
	if o.Cgroup != nil {
		dir, err := o.Cgroup.Open()
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, func() { dir.Close() })
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(dir.Fd())
	}
	return cmd, func() {
		for _, c := range closers {
			c()
		}
	}, nil
}

// initCommand re-executes this binary as init at stage; more args follow
// the stage's own.
func initCommand(stage string, args ...string) *exec.Cmd {
	return reexec.Command(stage, args...)
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
