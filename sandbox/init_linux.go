package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"sandbox/console"
	"sandbox/mounts"
	"sandbox/slirp"
	"sandbox/userns"
)

// syncFD is where the parent puts the child's end of the sync socket.
const syncFD = 3

// InitEnv is the private variable that makes the binary act as the
// sandbox's init instead of the CLI; its value is the stage. (A verb would
// clash with the user-facing `sandbox init`, and a mistaken dispatch must
// never run that in someone's project.)
const InitEnv = "_SANDBOX_INIT"

// initArg is init's argv[1], for `ps`; an unknown flag to the CLI.
const initArg = "--sandbox-init"

// IsInit reports whether this process was started as the sandbox's init.
func IsInit() bool { return os.Getenv(InitEnv) != "" }

// Init is the child side, run inside the new namespaces when IsInit. It
// never returns: it exits with the payload's status, or 125 after
// reporting a setup error to the parent.
func Init() {
	runtime.LockOSThread()
	stage := os.Getenv(InitEnv)
	// exec of /proc/self/exe names us "exe"; `ps` should say what we are.
	name := []byte("sandbox-init\x00")
	if stage == "watchdog" {
		name = []byte("sandbox-watch\x00")
	}
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0)
	switch stage {
	case "probe":
		os.Exit(0)
	case "payload":
		payloadStage()
	case "probe-overlay":
		os.Exit(probeOverlay(os.Args[2:]))
	case "unpack", "unpack-2":
		os.Exit(unpackWorker(stage))
	case "watchdog":
		if len(os.Args) == 3 {
			slirp.Watchdog(os.Args[2])
		}
		os.Exit(0)
	}
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
	err = unix.Exec("/proc/self/exe", []string{os.Args[0], initArg}, []string{InitEnv + "=2"})
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
	stageExe, err := sealExe() // exeseal_linux.go
	if err != nil {
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
	if spec.Network != NetHost {
		if err := loopbackUp(); err != nil {
			return 0, err
		}
	}
	if err := unreachableRoutes(spec.Unreachable); err != nil {
		return 0, err
	}
	if spec.WatchHostAddrs {
		if err := watchHostAddrs(addrWatchFD); err != nil {
			return 0, err
		}
	}
	if spec.Network == NetProxy {
		if err := sendProxyListeners(sock); err != nil {
			return 0, err
		}
	}
	if spec.Network == NetNone {
		if err := sendResolver(sock); err != nil {
			return 0, err
		}
	}
	// Nothing the payload execs may gain privileges (setuid bits, file
	// capabilities), and our own memory and /proc/1/exe stay closed to it.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, os.NewSyscallError("prctl PR_SET_NO_NEW_PRIVS", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return 0, os.NewSyscallError("prctl PR_SET_DUMPABLE", err)
	}
	for _, rl := range spec.Process.Rlimits {
		// syscall.Setrlimit, not unix: it also tells the Go runtime not to
		// restore its own RLIMIT_NOFILE in the children it starts.
		if err := syscall.Setrlimit(rl.Resource, &syscall.Rlimit{Cur: rl.Max, Max: rl.Max}); err != nil {
			return 0, &SetupError{
				Msg: fmt.Sprintf("setting rlimit %s to %d: %v", rl.Name, rl.Max, err),
				Fix: "a hard limit can only be lowered without privilege: check `ulimit -H` on the host",
			}
		}
	}
	signals := make(chan os.Signal, 32)
	signal.Notify(signals, forwardedSignals...)
	signal.Notify(signals, unix.SIGCHLD)
	cmd, err := payloadCommand(spec)
	if err != nil {
		return 0, err
	}
	cmd.Path = stageExe
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
	if err := startPayload(cmd); err != nil {
		code, msg := execFailure(spec.Process.Args[0], err)
		_ = sock.send(message{Type: msgExecError, Code: code, Error: msg})
		os.Exit(code)
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
	status := reap(cmd.Process.Pid, signals)
	_ = sock.send(message{Type: msgExited, Status: int(status)})
	return ExitStatus(status), nil
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
// starts as the payload stage (capbset_linux.go), with CAP_SETPCAP kept
// across the exec (ambient) so that a payload user other than 0 may empty
// its bounding set; the stage drops it before the command runs.
func payloadCommand(spec *Spec) (*exec.Cmd, error) {
	p := spec.Process
	cmd := &exec.Cmd{
		Path:   "/proc/self/exe",
		Args:   append([]string{"sandbox-init", lookPath(p.Args[0], p.Env, p.Cwd)}, p.Args...),
		Env:    append(p.Env[:len(p.Env):len(p.Env)], InitEnv+"=payload"),
		Dir:    p.Cwd,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			UidMappings:                sysMaps(spec.UIDMap),
			GidMappings:                sysMaps(spec.GIDMap),
			GidMappingsEnableSetgroups: spec.SetGroups,
			Credential:                 &syscall.Credential{Uid: uint32(p.UID), Gid: uint32(p.GID), NoSetGroups: !spec.SetGroups},
			Setsid:                     true,
			Pdeathsig:                  syscall.SIGKILL,
			AmbientCaps:                []uintptr{unix.CAP_SETPCAP},
		},
	}
	return cmd, nil
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

// reap waits as pid 1: it forwards signals to the payload and reaps every
// child, returning the payload's wait status when it ends. Orphans left
// behind die with init when it exits.
func reap(payload int, signals chan os.Signal) syscall.WaitStatus {
	for sig := range signals {
		if sig != unix.SIGCHLD {
			_ = unix.Kill(payload, sig.(syscall.Signal))
			continue
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err == syscall.EINTR {
				continue
			}
			if pid <= 0 || err != nil {
				break
			}
			if pid == payload && (ws.Exited() || ws.Signaled()) {
				return ws
			}
		}
	}
	panic("unreachable: signal channel closed")
}

func sysMaps(maps []userns.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
	}
	return out
}

func probeOverlay(args []string) int {
	if len(args) != 1 {
		return 2
	}
	if err := mounts.ProbeOverlay(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
