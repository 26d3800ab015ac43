package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/internal/reexec"
	"sandbox/landlock"
	"sandbox/mounts"
	"sandbox/network"
	"sandbox/profiles"
	"sandbox/seccomp"
)

// The payload stage: init starts the payload as this binary again, in the
// payload's namespaces and ids, and the stage confines itself (a private
// keyring, Landlock, the seccomp filter) and execs the payload. Go cannot
// run code between fork and exec, and init cannot install the filter on
// itself: the filter denies the clone(CLONE_NEWUSER) that makes the
// payload's namespace.
const (
	payloadStage    = "payload"
	payloadEnv      = "_SANDBOX_PAYLOAD" // the confinement, JSON
	payloadReportFD = 3                  // CLOEXEC socket back to init: EOF means exec worked
	payloadPolicy   = "payload policy"
)

// Confinement is what the payload stage applies before its exec.
type Confinement struct {
	// Path is the payload's executable, as init looked it up.
	Path string `json:"path"`
	// Seccomp is the filter's variant; nil: no filter ([security] seccomp = "off").
	Seccomp *seccomp.Options `json:"seccomp,omitempty"`
	// Landlock is what stays writable and reachable; nil: no Landlock.
	Landlock *landlock.Options `json:"landlock,omitempty"`
}

// confinement derives the stage's work from the Spec.
func confinement(spec *Spec, path string) Confinement {
	c := Confinement{Path: path}
	// Landlock forbids every mount to the processes it confines, also in
	// namespaces of their own: podman or bwrap inside (nested_userns), or
	// a FUSE mount through a granted /dev/fuse, could not work under it.
	if !spec.Security.NestedUserns && !grantsFuse(spec.Mounts) {
		c.Landlock = &landlock.Options{Writable: writablePaths(spec.Mounts)}
	}
	if spec.Security.Seccomp != profiles.SeccompOff {
		c.Seccomp = &seccomp.Options{Root: spec.Process.UID == 0, NestedUserns: spec.Security.NestedUserns, Allow: spec.Security.AllowSyscalls, Notify: true}
	}
	if spec.Network == network.Proxy && c.Landlock != nil {
		// The proxy's two listeners are all a payload in mode proxy may
		// connect to over TCP (Landlock ABI 4).
		c.Landlock.ConnectTCP = proxyPorts()
	}
	return c
}

// grantsFuse reports whether the plan binds /dev/fuse in (a device grant),
// whose only use is a FUSE mount.
func grantsFuse(plan mounts.Plan) bool {
	return slices.ContainsFunc(plan, func(op mounts.Op) bool { return op.Kind == mounts.Device && op.Target == "/dev/fuse" })
}

// writablePaths are the targets of the plan's writable mounts: beneath
// them Landlock allows writes, elsewhere it denies them even where a
// mount would allow them.
func writablePaths(plan mounts.Plan) []string {
	var out []string
	for _, op := range plan {
		switch op.Kind {
		case mounts.Bind, mounts.Tmpfs, mounts.Dev, mounts.Devpts, mounts.Mqueue, mounts.Proc, mounts.Overlay, mounts.OverlayDir:
			if !op.ReadOnly && !slices.Contains(out, op.Target) {
				out = append(out, op.Target)
			}
		}
	}
	return out
}

// stageEnv is the payload's environment with the stage's variables added:
// the stage's command has the payload's ids, namespaces and argv, and
// removes them again before its exec.
func stageEnv(c Confinement, env []string) ([]string, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	// The stage reads the first of a name; a profile's [env] or an -e
	// that set _SANDBOX_PAYLOAD could hand it a confinement of its own
	// (none): the payload gets no private variables of ours.
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "_SANDBOX_") })
	return append(env, reexec.Environ(payloadStage), payloadEnv+"="+string(data)), nil
}

// runPayloadStage is the stage's story; it never returns. Must be called
// with the OS thread locked: Landlock, the keyring and (with a listener)
// the filter apply to the calling thread, which is the one that execs.
func runPayloadStage() {
	report := syncSocket{os.NewFile(payloadReportFD, "payload-report")}
	fail := func(m message) {
		_ = report.send(m)
		os.Exit(ExitSetup)
	}
	// Until the exec, /proc/PID/exe of this process is the sandbox binary:
	// nothing of the payload may open it (CVE-2019-5736).
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	var c Confinement
	if err := json.Unmarshal([]byte(os.Getenv(payloadEnv)), &c); err != nil {
		fail(message{Type: msgError, Error: fmt.Sprintf("reading the %s: %v", payloadPolicy, err)})
	}
	if err := unix.CloseRange(payloadReportFD, payloadReportFD, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fail(message{Type: msgError, Error: os.NewSyscallError("close_range", err).Error()})
	}
	listener, err := confine(c)
	if err != nil {
		fail(message{Type: msgError, Error: err.Error()})
	}
	if listener != nil {
		if err := report.send(message{Type: msgSeccompListener}, int(listener.Fd())); err != nil {
			fail(message{Type: msgError, Error: err.Error()})
		}
		listener.Close()
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, reexec.Env+"=") || strings.HasPrefix(kv, payloadEnv+"=")
	})
	err = unix.Exec(c.Path, os.Args, env)
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = unix.EINVAL
	}
	fail(message{Type: msgExecError, Code: int(errno)})
}

// confine applies, in order: a session keyring of the payload's own, then
// Landlock, then an empty bounding set (capbset_linux.go), then the
// seccomp filter (last: it denies keyctl). It returns
// the filter's listener, if it has one.
func confine(c Confinement) (*os.File, error) {
	// The session keyring is inherited from the user's login and is not
	// namespaced: join a new anonymous one, so that even a profile that
	// allows the key calls reaches none of the host's keys.
	// (NULL, not "": a name would join the existing keyring of that name.)
	if _, _, errno := unix.RawSyscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0); errno != 0 && errno != unix.ENOSYS {
		return nil, fmt.Errorf("joining a new session keyring: %w", os.NewSyscallError("keyctl", errno))
	}
	if c.Landlock != nil {
		if _, err := landlock.Restrict(*c.Landlock); err != nil && !errors.Is(err, landlock.ErrUnsupported) {
			return nil, fmt.Errorf("applying Landlock: %w", err)
		}
	}
	if err := dropCapabilities(os.Getuid() == 0); err != nil {
		return nil, fmt.Errorf("emptying the bounding capability set: %w", err)
	}
	if c.Seccomp == nil {
		return nil, nil
	}
	rules := seccomp.Policy(*c.Seccomp)
	if c.Seccomp.Notify {
		// Denied calls go to init, which counts them for the run's summary
		// and fails them with EPERM. Only denied calls pay for the round
		// trip; a kernel without user notification (before 5.0) refuses
		// the flag, and gets the plain filter.
		prog, err := seccomp.CompileNotify(rules, seccomp.Native)
		if err != nil {
			return nil, err
		}
		if l, err := seccomp.InstallNotify(prog); err == nil {
			return l, nil
		}
	}
	prog, err := seccomp.Compile(rules, seccomp.Native)
	if err != nil {
		return nil, err
	}
	if err := seccomp.Install(prog); err != nil {
		return nil, fmt.Errorf("installing the seccomp filter: %w", err)
	}
	return nil, nil
}

// denials counts the calls the filter denied, by name.
type denials struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *denials) add(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[name]++
}

func (d *denials) counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.n)
}

// waitPayloadExec reads the stage's reports until EOF, which means the
// payload's exec succeeded (the socket is close-on-exec). The filter's
// listener is served on the way, counting into d.
func waitPayloadExec(report syncSocket, d *denials) (*message, error) {
	for {
		m, files, err := report.recv()
		if err != nil {
			return nil, fmt.Errorf("reading the payload stage's report: %w", err)
		}
		switch m.Type {
		case "":
			return nil, nil
		case msgSeccompListener:
			if len(files) == 1 {
				go seccomp.Serve(files[0], d.add)
			}
		default:
			return &m, nil
		}
	}
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
