package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
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
	if stage != "2" {
		initStage1(sock)
	}
	code, err := initStage2(sock)
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

// initStage1 waits until the parent has written the id maps, then execs
// itself again: only an exec with uid 0 mapped grants the namespace's full
// capability set (see doc.go).
func initStage1(sock syncSocket) {
	m, _, err := sock.recv()
	if err != nil || m.Type != msgMapped {
		os.Exit(ExitSetup)
	}
	err = reexec.Exec("2")
	_ = sock.send(message{Type: msgError, Error: fmt.Sprintf("re-executing init: %v", err)})
	os.Exit(ExitSetup)
}

// initStage2 is the story of the sandbox's pid 1.
func initStage2(sock syncSocket) (int, error) {
	if err := dieWithParent(sock); err != nil {
		return 0, err
	}
	m, _, err := sock.recv()
	if err != nil {
		return 0, err
	}
	if m.Type != msgSpec || m.Spec == nil {
		return 0, fmt.Errorf("expected a spec from the parent, got %q", m.Type)
	}
	spec := m.Spec
	// Only fds 0-2 may reach the payload: whatever the user's shell leaked
	// into `sandbox`, and our sync socket, close on exec.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return 0, os.NewSyscallError("close_range", err)
	}
	if stageExe, err = confine.SealExe(); err != nil {
		return 0, err
	}
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		return 0, os.NewSyscallError("sethostname", err)
	}
	chrooted, err := mounts.Build(spec.Mounts, spec.Scratch)
	if err != nil {
		return 0, fmt.Errorf("building the root filesystem: %w", err)
	}
	if chrooted && spec.Process.UID == 0 {
		return 0, &SetupError{
			Msg: "user = \"root\" is refused on a host running from its initramfs: without pivot_root the sandbox is a chroot that uid 0 could leave",
			Fix: "use user = \"self\" here",
		}
	}
	if err := spec.Child.Setup(func(fds ...int) error { return sock.send(message{Type: msgNetwork}, fds...) }); err != nil {
		return 0, err
	}
	if err := restrictSelf(spec.Process.Rlimits); err != nil {
		return 0, err
	}
	reserveThreads(spareThreads(spec.PidsMax)) // before the payload can exhaust pids.max
	signals := make(chan os.Signal, 32)
	signal.Notify(signals, console.ForwardedSignals...)
	signal.Notify(signals, unix.SIGCHLD)
	cmd, report, err := payloadCommand(spec)
	if err != nil {
		return 0, err
	}
	defer report.f.Close()
	var denied confine.Denials
	var master *os.File
	if spec.Process.Terminal {
		var slave *os.File
		if master, slave, err = pty.Open(); err != nil {
			return 0, fmt.Errorf("opening a pty in the sandbox: %w", err)
		}
		_ = console.SetSize(int(master.Fd()), spec.Process.Size)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
		defer slave.Close()
	}
	if err := startPayload(cmd, report, &denied, spec.Process.Args[0], sock); err != nil {
		return 0, err
	}
	if master != nil {
		if err := sock.send(message{Type: msgConsole}, int(master.Fd())); err != nil {
			return 0, err
		}
		master.Close()
		cmd.Stdin.(*os.File).Close()
	}
	if err := sock.send(message{Type: msgStarted}); err != nil {
		return 0, err
	}
	status := supervise(sock, spec, chrooted, cmd.Process.Pid, signals, &denied)
	_ = sock.send(message{Type: msgExited, Status: int(status), Denied: denied.Counts()})
	return ExitStatus(status), nil
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

// payloadCommand prepares the payload: nested user and mount namespaces
// (mapped per the Spec), its ids, a new session, and only fds 0-2. It
// starts as the payload stage (package confine), which confines itself
// and execs the payload; report is init's end of the stage's socket.
func payloadCommand(spec *Spec) (cmd *exec.Cmd, report syncSocket, err error) {
	p := spec.Process
	env, err := confine.Environ(confinement(spec, lookPath(p.Args[0], p.Env, p.Cwd)), p.Env)
	if err != nil {
		return nil, report, err
	}
	r, w, err := newSocketPair()
	if err != nil {
		return nil, report, fmt.Errorf("creating the payload stage's socket: %w", err)
	}
	report = syncSocket{r}
	cmd = &exec.Cmd{
		Path:       stageExe,
		Args:       p.Args,
		Env:        env,
		ExtraFiles: []*os.File{w},
		Dir:        p.Cwd,
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			UidMappings:                sysMaps(spec.UIDMap),
			GidMappings:                sysMaps(spec.GIDMap),
			GidMappingsEnableSetgroups: spec.SetGroups,
			Credential:                 &syscall.Credential{Uid: uint32(p.UID), Gid: uint32(p.GID), NoSetGroups: !spec.SetGroups || spec.KeepGroups},
			Setsid:                     true,
			Pdeathsig:                  syscall.SIGKILL,
			AmbientCaps:                []uintptr{unix.CAP_SETPCAP},
		},
	}
	return cmd, report, nil
}

// startPayload starts the payload stage and waits until it has exec'd the
// payload. A payload that cannot be exec'd ends init with 126 or 127, as
// podman does; a stage that cannot confine it is a setup error.
func startPayload(cmd *exec.Cmd, report syncSocket, d *confine.Denials, name string, sock syncSocket) error {
	err := startStage(cmd, report, d, name)
	var ee *execError
	if errors.As(err, &ee) {
		_ = sock.send(message{Type: msgExecError, Code: ee.code, Error: ee.msg})
		os.Exit(ee.code)
	}
	return err
}

// execError is a command the payload stage could not exec: 126 or 127.
type execError struct {
	code int
	msg  string
}

func (e *execError) Error() string { return e.msg }

// startStage starts the payload stage (cmd, from payloadCommand) and waits
// until it has exec'd its command: the payload, or a process of `sandbox
// exec`. A command it cannot exec is an *execError; a stage that cannot
// start or confine it, a setup error.
func startStage(cmd *exec.Cmd, report syncSocket, d *confine.Denials, name string) error {
	err := cmd.Start()
	cmd.ExtraFiles[0].Close()
	if errors.Is(err, unix.ENOENT) {
		// The stage is this binary, exec'd inside the sandbox's root: a
		// dynamically linked build finds no loader in an image without one.
		return &SetupError{
			Msg: fmt.Sprintf("starting the payload stage (this binary, run inside the sandbox's root): %v", err),
			Fix: "build sandbox statically: CGO_ENABLED=0 go build ./cmd/sandbox (make build does)",
		}
	}
	if err != nil {
		return fmt.Errorf("starting the payload stage: %w", err)
	}
	err = confine.Wait(report.f, d)
	var ee *confine.ExecError
	if !errors.As(err, &ee) {
		return err
	}
	_ = cmd.Wait()
	code, msg := execFailure(name, ee.Errno)
	return &execError{code: code, msg: msg}
}

// lookPath finds name in the payload's PATH, relative to its working
// directory; like execvp, a name with a slash is used as it is.
func lookPath(name string, env []string, cwd string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range filepath.SplitList(lookupEnv(env, "PATH")) {
		if dir == "" {
			dir = "."
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(cwd, dir)
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return name // exec then fails with ENOENT
}

// execFailure maps a failed start of the payload to 126 or 127 and a
// message, as shells and podman do.
func execFailure(name string, err error) (int, string) {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, exec.ErrNotFound):
		if strings.Contains(name, "/") {
			return ExitNotFound, fmt.Sprintf("cannot run %s: no such file or directory in the sandbox", name)
		}
		return ExitNotFound, fmt.Sprintf("cannot run %s: command not found in the sandbox's PATH", name)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return ExitCannotExec, fmt.Sprintf("cannot run %s: permission denied (not executable, or on a noexec mount)", name)
	case errors.Is(err, unix.ENOEXEC):
		return ExitCannotExec, fmt.Sprintf("cannot run %s: not an executable format (a script needs a #! line)", name)
	}
	return ExitCannotExec, fmt.Sprintf("cannot run %s: %v", name, err)
}

func sysMaps(maps []userns.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
	}
	return out
}
