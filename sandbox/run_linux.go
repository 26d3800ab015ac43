package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/cgroup"
	"sandbox/console"
	"sandbox/internal/linux"
	"sandbox/internal/reexec"
	"sandbox/network"
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

// Run starts the sandbox Spec describes, waits for its payload and returns
// how it ended: its exit code (128+n for signal n, 124 for the timeout).
// An error means the sandbox could not be set up, or the payload could not
// be started (*ExecError). Init's side of each step is in init_linux.go.
func Run(o RunOptions) (*Result, error) {
	start := time.Now()
	res := &Result{Security: securityReport(o.Spec)}

	// The cgroup leaf is the run's, also when it cannot register (a name
	// in use): it goes at the very end (review 12, F5).
	defer destroyCgroup(o.Cgroup)

	// 1. Record the run (package runs): its id, its state directory, and
	// the record `sandbox ps` lists; the records of dead runs are swept.
	rec, err := register(o.runInfo())
	if err != nil {
		return res, err
	}
	defer rec.Release()

	// Steps 2 to 7 (run): start init, feed it, relay until the payload
	// ends.
	code, err := run(o, rec, res)

	// 8. Report how it ended, in the result and in the run's record.
	res.finish(code, time.Since(start), o.Cgroup)
	rec.finish(res, err)
	return res, err
}

// run is a run between its record and its report.
func run(o RunOptions, rec *record, res *Result) (int, error) {
	stdin, stdout, stderr := orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)
	if o.Net == nil {
		return 0, errors.New("no network driver for the run (RunOptions.Net: network.New)")
	}
	o.Spec.Scratch = rec.Scratch()

	// 2. Listen on the control socket, for `sandbox exec` and `sandbox
	// stop`, and start the run's log if it keeps one.
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

	// 3. Start init in its new namespaces, holding the parent's end of the
	// sync socket.
	r, err := startInit(o, stdin, stdout, stderr)
	if err != nil {
		return 0, err
	}
	defer r.sock.f.Close()
	r.ctl, r.started = ctl, o.Lifecycle.started(rec)

	// 4. Map its ids (a single-id map is already written), 5. start the
	// network's host side on init's namespaces, and 6. send the Spec:
	// init builds the sandbox from it and starts the payload. An init
	// that kept its capabilities through its exec (stage 1 with ambient
	// ones) takes the Spec while newuidmap runs, and goes on at "mapped".
	specFirst := r.keptCaps
	if specFirst {
		if err := r.sock.send(message{Type: msgSpec, Spec: o.Spec}); err != nil {
			return 0, r.abort(err)
		}
	}
	if err := mapIDs(o.Mapping, r, !specFirst); err != nil {
		return 0, r.abort(err)
	}
	if err := o.Net.Start(r.pid, liveHolders); err != nil {
		return 0, r.abort(err)
	}
	defer stopNetwork(o.Net, res)
	next := message{Type: msgSpec, Spec: o.Spec}
	if specFirst {
		next = message{Type: msgMapped}
	}
	if err := r.sock.send(next); err != nil {
		return 0, r.abort(err)
	}

	// 7. Relay signals, the terminal and exec requests, and wait until
	// init reports the payload's end.
	defer func() { r.term.Close() }()
	return r.wait(o.Timeout, res)
}

// startInit starts init in new namespaces, from a thread locked until it
// is reaped, and returns the relay to it. An error the kernel gives for
// the clone is explained (userns.Explain).
func startInit(o RunOptions, stdin, stdout, stderr *os.File) (*relay, error) {
	parentEnd, childEnd, err := newSocketPair()
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			parentEnd.Close()
		}
	}()
	var pipes *console.Pipes
	if !o.Spec.Process.Terminal {
		if pipes, err = console.NewPipes(stdin, stdout, stderr); err != nil {
			return nil, err
		}
	}
	cmd, closeCmd, err := sandboxInit(o, childEnd, pipes, stderr)
	if err != nil {
		return nil, err
	}
	initDone, err := linux.StartLocked(cmd)
	closeCmd()
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EINVAL) {
			return nil, userns.Explain(err)
		}
		return nil, fmt.Errorf("starting sandbox init: %w", err)
	}
	started = true
	return &relay{pid: cmd.Process.Pid, initDone: initDone, sock: syncSocket{parentEnd}, pipes: pipes, stdin: stdin, stdout: stdout, net: o.Net,
		keptCaps: cmd.SysProcAttr.AmbientCaps != nil}, nil
}

// sandboxInit prepares the command that starts init in new namespaces,
// and returns what to close once it started.
func sandboxInit(o RunOptions, childEnd *os.File, pipes *console.Pipes, stderr *os.File) (*exec.Cmd, func(), error) {
	// A single-id map needs no helper: the runtime writes it (setgroups
	// "deny" first) between clone and exec, so init is exec'd already uid 0
	// with the namespace's capabilities, and skips the stage that waits for
	// the helpers' maps.
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
	} else {
		// newuidmap maps init after its exec: it keeps the namespace's
		// capabilities through the exec as ambient ones, and needs no
		// second exec once mapped (initStage1).
		caps, err := userns.AmbientCaps()
		if err != nil {
			return nil, nil, err
		}
		cmd.SysProcAttr.AmbientCaps = caps
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

// initCommand starts init at stage, from the slim init binary when it is
// installed beside us (initBinary); more args follow the stage's own.
func initCommand(stage string, args ...string) *exec.Cmd {
	return reexec.CommandFrom(initBinary(), stage, args...)
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

// mapIDs writes init's outer id maps with newuidmap and newgidmap and,
// if tell, tells stage 1 to go on. A single-id map needs neither: the
// runtime wrote it between clone and exec (sandboxInit).
func mapIDs(m *userns.Mapping, r *relay, tell bool) error {
	if m.Single() {
		return nil
	}
	if err := m.Write(r.pid); err != nil {
		return err
	}
	if !tell {
		return nil
	}
	return r.sock.send(message{Type: msgMapped})
}

// stopNetwork stops the network's host side and keeps its report.
func stopNetwork(net network.Driver, res *Result) {
	rep := net.Stop()
	res.NetworkBackend, res.NetworkDenied, res.NetworkLookups = rep.Backend, rep.Denied, rep.Lookups
}

// destroyCgroup removes the run's cgroup, if it has one, at the very end.
func destroyCgroup(cg *cgroup.Manager) {
	if cg == nil {
		return
	}
	if err := cg.Destroy(); err != nil {
		slog.Warn("removing the sandbox's cgroup", "err", err)
	}
}
