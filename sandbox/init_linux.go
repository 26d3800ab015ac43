package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"sandbox/confine"
	"sandbox/console"
	"sandbox/internal/reexec"
	"sandbox/mounts"
	"sandbox/userns"
)

// syncFD is where the parent puts the child's end of the sync socket.
const syncFD = 3

// The roles this package runs in a fresh copy of the binary.
func init() {
	reexec.Register("1", "sandbox-init", func([]string) { initMain("1") })
	reexec.Register("2", "sandbox-init", func([]string) { initMain("2") })
}

// initMain is the child side, run inside the new namespaces. It never
// returns: it exits with the payload's status, or 125 after reporting a
// setup error to the parent.
func initMain(stage string) {
	sock := syncSocket{os.NewFile(syncFD, "sync")}
	// Stage 1 waits until the parent has written the id maps (its step
	// 4), and may have read the Spec by then. A single-id map, written by
	// the runtime, starts init at stage 2.
	var spec *Spec
	if stage != "2" {
		spec = initStage1(sock)
	}
	code, err := initStage2(sock, spec)
	if err != nil {
		var hint string
		var h interface{ Hint() string }
		if errors.As(err, &h) {
			hint = h.Hint()
		}
		_ = sock.send(message{Type: msgError, Error: err.Error(), Hint: hint})
		os.Exit(ExitSetup)
	}
	os.Exit(code)
}

// initStage1 waits until the parent has written the id maps. It was
// exec'd holding the namespace's capabilities as ambient ones
// (userns.AmbientCaps), since an exec before uid 0 is mapped grants none.
// The exec made them permitted and effective: it empties the ambient set
// at once and reads the Spec, which the parent sends first, while
// newuidmap runs; once mapped it is uid 0 with the full set, as an exec
// after the map would have left it (docs/internal.md, "Process model"),
// and returns the Spec. Started without them (a cgo build), it executes
// itself again once mapped, and stage 2 reads the Spec. A failure is
// reported once mapped, when the parent reads init's messages.
func initStage1(sock syncSocket) *Spec {
	if !userns.KeptAmbient() {
		if m, _, err := sock.recv(); err != nil || m.Type != msgMapped {
			os.Exit(ExitSetup)
		}
		err := reexec.Exec("2")
		_ = sock.send(message{Type: msgError, Error: fmt.Sprintf("re-executing init: %v", err)})
		os.Exit(ExitSetup)
	}
	dropErr := userns.DropAmbient()
	spec, specErr := readSpec(sock)
	if m, _, err := sock.recv(); err != nil || m.Type != msgMapped {
		os.Exit(ExitSetup)
	}
	if err := errors.Join(dropErr, specErr); err != nil {
		_ = sock.send(message{Type: msgError, Error: err.Error()})
		os.Exit(ExitSetup)
	}
	return spec
}

// initStage2 is the story of the sandbox's pid 1, in step with the
// parent's (Run, run_linux.go). Stage 1 ended with the id maps written.
func initStage2(sock syncSocket, spec *Spec) (int, error) {
	// 1. Die with the parent: re-arm the death signal the exec cleared.
	if err := dieWithParent(sock); err != nil {
		return 0, err
	}

	// 2. Read the Spec (the parent's step 6), unless stage 1 did.
	var err error
	if spec == nil {
		if spec, err = readSpec(sock); err != nil {
			return 0, err
		}
	}

	// 3. Close every fd but 0-2 on exec: whatever the user's shell leaked
	// into `sandbox`, and our sync socket, never reach the payload.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return 0, os.NewSyscallError("close_range", err)
	}

	// 4. Seal the binary the payload stage starts from (confine.SealExe).
	if stageExe, err = confine.SealExe(); err != nil {
		return 0, err
	}

	// 5. Name the sandbox's host.
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		return 0, os.NewSyscallError("sethostname", err)
	}

	// 6. Build the root filesystem and move into it (mounts.Build).
	chrooted, err := buildRoot(spec)
	if err != nil {
		return 0, err
	}

	// 7. Restrict what every process init starts inherits.
	if err := restrictSelf(spec.Process.Rlimits); err != nil {
		return 0, err
	}

	// 8. Catch signals before the payload exists, so none is lost (nor
	// the SIGCHLD of a stage that dies early).
	signals := make(chan os.Signal, 32)
	signal.Notify(signals, console.ForwardedSignals...)
	signal.Notify(signals, unix.SIGCHLD)

	// 9. Start the payload stage (stage_linux.go), on a terminal if the
	// Spec asks for one: it starts up and confines itself beside the next
	// steps (~5 ms on a small VM), then waits for init's go-ahead before
	// its exec.
	stage, err := startPayloadStage(spec)
	if err != nil {
		return 0, err
	}

	// 10. The network mode's child side; its sockets go to the parent.
	if err := spec.Child.Setup(func(fds ...int) error { return sock.send(message{Type: msgNetwork}, fds...) }); err != nil {
		return 0, err
	}

	// 11. Keep spare threads before the payload can exhaust pids.max.
	reserveThreads(spareThreads(spec.PidsMax))

	// 12. Let the payload exist, and tell the parent it runs.
	payload, denied, err := stage.run(sock)
	if err != nil {
		return 0, err
	}

	// 13. Supervise as pid 1 (initexec_linux.go) until the payload ends,
	// and report its end.
	status := supervise(sock, spec, chrooted, payload, signals, denied)
	_ = sock.send(message{Type: msgExited, Status: int(status), Denied: denied.Counts()})
	return ExitStatus(status), nil
}

// readSpec reads the Spec the parent sends once the network runs.
func readSpec(sock syncSocket) (*Spec, error) {
	m, _, err := sock.recv()
	if err != nil {
		return nil, err
	}
	if m.Type != msgSpec || m.Spec == nil {
		return nil, fmt.Errorf("expected a spec from the parent, got %q", m.Type)
	}
	return m.Spec, nil
}

// buildRoot builds the root filesystem from the Spec's mounts. Where
// pivot_root is impossible (a host running from its initramfs) the root
// is a chroot, which uid 0 could leave: a root payload is refused there.
func buildRoot(spec *Spec) (chrooted bool, err error) {
	chrooted, err = mounts.Build(spec.Mounts, spec.Scratch)
	if err != nil {
		return false, fmt.Errorf("building the root filesystem: %w", err)
	}
	if chrooted && spec.Process.UID == 0 {
		return false, &SetupError{
			Msg: "user = \"root\" is refused on a host running from its initramfs: without pivot_root the sandbox is a chroot that uid 0 could leave",
			Fix: "use user = \"self\" here",
		}
	}
	return chrooted, nil
}

// payloadStage is the payload's stage, started, with the PTY it runs on
// when the Spec asks for a terminal.
type payloadStage struct {
	*stage
	master, slave *os.File // nil without a terminal
}

// startPayloadStage starts the payload stage (payloadCommand), on a new
// PTY when the Spec asks for a terminal.
func startPayloadStage(spec *Spec) (*payloadStage, error) {
	cmd, err := payloadCommand(spec)
	if err != nil {
		return nil, err
	}
	p := &payloadStage{}
	if spec.Process.Terminal {
		if p.master, p.slave, err = pty.Open(); err != nil {
			return nil, fmt.Errorf("opening a pty in the sandbox: %w", err)
		}
		_ = console.SetSize(int(p.master.Fd()), spec.Process.Size)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
	}
	if p.stage, err = startStage(cmd, spec.Process.Args[0]); err != nil {
		return nil, err
	}
	return p, nil
}

// run lets the stage exec the payload, sends the PTY's master to the
// parent, and tells it the payload runs. It returns the payload's pid and
// the count of the calls its seccomp filter denies. A payload that cannot
// be exec'd ends init with 126 or 127, as podman does; a stage that
// cannot confine it is a setup error.
func (p *payloadStage) run(sock syncSocket) (int, *confine.Denials, error) {
	if p.slave != nil {
		defer p.slave.Close()
		defer p.master.Close()
	}
	denied := &confine.Denials{}
	err := p.proceed(denied)
	var ee *execError
	if errors.As(err, &ee) {
		_ = sock.send(message{Type: msgExecError, Code: ee.code, Error: ee.msg})
		os.Exit(ee.code)
	}
	if err != nil {
		return 0, nil, err
	}
	if p.master != nil {
		if err := sock.send(message{Type: msgConsole}, int(p.master.Fd())); err != nil {
			return 0, nil, err
		}
	}
	if err := sock.send(message{Type: msgStarted}); err != nil {
		return 0, nil, err
	}
	return p.pid(), denied, nil
}

// restrictSelf sets what init passes on to every process it starts:
// no_new_privs (nothing the payload execs may gain privileges through
// setuid bits or file capabilities), not dumpable (our memory and
// /proc/1/exe stay closed to it), and the rlimits.
func restrictSelf(rlimits []Rlimit) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_NO_NEW_PRIVS", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_DUMPABLE", err)
	}
	for _, rl := range rlimits {
		// syscall.Setrlimit, not unix: it also tells the Go runtime not to
		// restore its own RLIMIT_NOFILE in the children it starts.
		if err := syscall.Setrlimit(rl.Resource, &syscall.Rlimit{Cur: rl.Max, Max: rl.Max}); err != nil {
			return &SetupError{
				Msg: fmt.Sprintf("setting rlimit %s to %d: %v", rl.Name, rl.Max, err),
				Fix: "a hard limit can only be lowered without privilege: check `ulimit -H` on the host",
			}
		}
	}
	return nil
}

// dieWithParent re-arms the parent-death signal, which the kernel cleared
// when the exec into this stage gained capabilities, and exits if the
// parent already died in between: its end of the sync socket is closed.
func dieWithParent(sock syncSocket) error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_PDEATHSIG", err)
	}
	fds := []unix.PollFd{{Fd: int32(sock.f.Fd()), Events: unix.POLLRDHUP}}
	if n, err := unix.Poll(fds, 0); err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLRDHUP) != 0 {
		os.Exit(ExitSetup)
	}
	return nil
}
