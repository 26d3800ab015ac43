package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/confine"
	"sandbox/host"
	"sandbox/network"
)

// Init's side of the payload stage (package confine): the stage's binary,
// its policy derived from the Spec, its command, starting it, and letting
// it exec (for the payload, and for each process of `sandbox exec`). A
// command that cannot be exec'd ends as 126 or 127.

// stageExe is the sealed binary the payload stage (the payload's and every
// exec'd process's) starts from: set by init before its first payload
// (confine.SealExe).
var stageExe = "/proc/self/exe"

// confinement derives the stage's policy from the Spec.
func confinement(spec *Spec, path string) confine.Policy {
	o := confine.Options{Path: path, Security: spec.Security, Mounts: spec.Mounts, Root: spec.Process.UID == 0}
	if spec.Network == network.Proxy {
		o.ProxyPorts = proxyPorts()
	}
	return confine.NewPolicy(o)
}

// proxyPorts are the ports of the proxy's listeners inside.
func proxyPorts() []uint16 {
	var ports []uint16
	for _, addr := range []string{network.ProxyHTTPAddr, network.ProxySOCKSAddr} {
		_, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.ParseUint(port, 10, 16)
		ports = append(ports, uint16(n))
	}
	return ports
}

// payloadCommand prepares the payload: nested user and mount namespaces
// (mapped per the Spec), its ids, a new session, and only fds 0-2 (and
// the stage's socket, which startStage adds). It starts as the payload
// stage (package confine), which confines itself and execs the payload.
func payloadCommand(spec *Spec) (*exec.Cmd, error) {
	p := spec.Process
	env, err := confine.Environ(confinement(spec, lookPath(p.Args[0], p.Env, p.Cwd)), p.Env)
	if err != nil {
		return nil, err
	}
	return &exec.Cmd{
		Path:   stageExe,
		Args:   p.Args,
		Env:    env,
		Dir:    p.Cwd,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
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
	}, nil
}

// execError is a command the payload stage could not exec: 126 or 127.
type execError struct {
	code int
	msg  string
}

func (e *execError) Error() string { return e.msg }

// stage is a payload stage that is starting: it confines itself, then
// waits for init's go-ahead (proceed) before it execs its command, so
// that its start-up (a Go runtime's) runs beside init's last steps.
type stage struct {
	cmd    *exec.Cmd
	report syncSocket // init's end of the stage's socket
	name   string     // the command, as the user gave it
}

// startStage starts the payload stage (cmd, from payloadCommand) for the
// command name: the payload, or a process of `sandbox exec`. A stage that
// cannot start is a setup error.
func startStage(cmd *exec.Cmd, name string) (*stage, error) {
	r, w, err := newSocketPair()
	if err != nil {
		return nil, fmt.Errorf("creating the payload stage's socket: %w", err)
	}
	cmd.ExtraFiles = []*os.File{w} // confine's report fd
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
	}
	if errors.Is(err, unix.ENOENT) {
		// The stage is this binary, exec'd inside the sandbox's root: a
		// dynamically linked build finds no loader in an image without one.
		return nil, &SetupError{
			Msg: fmt.Sprintf("starting the payload stage (this binary, run inside the sandbox's root): %v", err),
			Fix: "build sandbox statically: CGO_ENABLED=0 go build ./cmd/sandbox (make build does)",
		}
	}
	if err != nil {
		return nil, fmt.Errorf("starting the payload stage: %w", err)
	}
	return &stage{cmd: cmd, report: syncSocket{r}, name: name}, nil
}

// proceed lets the stage exec its command and waits until it has,
// serving the filter's listener into d. A command it cannot exec is an
// *execError; a stage that could not confine it, a setup error.
func (s *stage) proceed(d *confine.Denials) error {
	defer s.report.f.Close() // also the go-ahead's refusal, should we fail
	if err := confine.Proceed(s.report.f); err != nil {
		return err
	}
	err := confine.Wait(s.report.f, d)
	var ee *confine.ExecError
	if !errors.As(err, &ee) {
		return err
	}
	_ = s.cmd.Wait()
	code, msg := execFailure(s.name, ee.Errno)
	return &execError{code: code, msg: msg}
}

// pid is the stage's, and after proceed the command's, process id.
func (s *stage) pid() int { return s.cmd.Process.Pid }

// lookPath finds name in the payload's PATH, relative to its working
// directory; like execvp, a name with a slash is used as it is.
func lookPath(name string, env []string, cwd string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range filepath.SplitList(host.Lookup(env, "PATH")) {
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
