// Package confine is the payload stage: init starts the payload as this
// binary again, in the payload's namespaces and ids, and the stage
// confines itself (a private keyring, Landlock, an empty bounding set, the
// seccomp filter) and execs the payload. Go cannot run code between fork
// and exec, and init cannot install the filter on itself: the filter
// denies the clone(CLONE_NEWUSER) that makes the payload's namespace.
//
// Init builds the stage's Policy (NewPolicy), starts the stage with the
// policy in its environment (Environ) and its report socket as fd 3, lets
// it exec once init is ready for the payload (Proceed), and waits for the
// exec (Wait). The stage confines itself while init finishes, then waits
// for that go-ahead. The package also says what confinement a run
// gets (Security) and seals the binary the stage starts from (SealExe).
package confine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/internal/reexec"
	"sandbox/landlock"
	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/seccomp"
)

const (
	role      = "payload"
	policyEnv = "_SANDBOX_PAYLOAD" // the policy, JSON
	// reportFD is the stage's end of its socket to init (init's
	// ExtraFiles[0]); it is CLOEXEC from the stage's start: EOF means the
	// exec worked.
	reportFD   = 3
	policyName = "payload policy"
	// exitSetup is the stage's exit status when it fails before its exec
	// (sandbox.ExitSetup); init reports the reason it sent.
	exitSetup = 125
)

func init() {
	reexec.Register(role, "sandbox-init", func([]string) { runStage() })
}

// Policy is what the payload stage applies before its exec.
type Policy struct {
	// Path is the payload's executable, as init looked it up.
	Path string `json:"path"`
	// Seccomp is the filter's variant; nil: no filter ([security] seccomp = "off").
	Seccomp *seccomp.Options `json:"seccomp,omitempty"`
	// Landlock is what stays writable and reachable; nil: no Landlock.
	Landlock *landlock.Options `json:"landlock,omitempty"`
}

// Options are what of a run the stage's policy depends on.
type Options struct {
	// Path is the payload's executable.
	Path string
	// Security is the profile's [security] table.
	Security profiles.Security
	// Mounts is the sandbox's mount plan: its writable mounts stay
	// writable under Landlock.
	Mounts mounts.Plan
	// Root: the payload runs as uid 0.
	Root bool
	// ProxyPorts, in network mode proxy, are the ports of the proxy's
	// listeners inside, the only ones the payload may connect to over TCP.
	ProxyPorts []uint16
}

// NewPolicy derives the stage's work from a run.
func NewPolicy(o Options) Policy {
	c := Policy{Path: o.Path}
	// Landlock forbids every mount to the processes it confines, also in
	// namespaces of their own: podman or bwrap inside (nested_userns), or
	// a FUSE mount through a granted /dev/fuse, could not work under it.
	if !o.Security.NestedUserns && !grantsFuse(o.Mounts) {
		c.Landlock = &landlock.Options{Writable: writablePaths(o.Mounts)}
	}
	if o.Security.Seccomp != profiles.SeccompOff {
		c.Seccomp = &seccomp.Options{Root: o.Root, NestedUserns: o.Security.NestedUserns, Allow: o.Security.AllowSyscalls, Notify: true}
	}
	if o.ProxyPorts != nil && c.Landlock != nil {
		// The proxy's two listeners are all a payload in mode proxy may
		// connect to over TCP (Landlock ABI 4).
		c.Landlock.ConnectTCP = o.ProxyPorts
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

// Environ is the payload's environment with the stage's variables added:
// the stage's command has the payload's ids, namespaces and argv, and
// removes them again before its exec.
func Environ(c Policy, env []string) ([]string, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	// The stage reads the first of a name; a profile's [env] or an -e
	// that set _SANDBOX_PAYLOAD could hand it a policy of its own
	// (none): the payload gets no private variables of ours.
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "_SANDBOX_") })
	return append(env, reexec.Environ(role), policyEnv+"="+string(data)), nil
}

// runStage is the stage's story; it never returns. Must be called with
// the OS thread locked: Landlock, the keyring and (with a listener) the
// filter apply to the calling thread, which is the one that execs.
func runStage() {
	sock := os.NewFile(reportFD, "payload-report")
	fail := func(r report) {
		_ = send(sock, r)
		os.Exit(exitSetup)
	}
	// Until the exec, /proc/PID/exe of this process is the sandbox binary:
	// nothing of the payload may open it (CVE-2019-5736).
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	var c Policy
	if err := json.Unmarshal([]byte(os.Getenv(policyEnv)), &c); err != nil {
		fail(report{Type: reportError, Error: fmt.Sprintf("reading the %s: %v", policyName, err)})
	}
	if err := unix.CloseRange(reportFD, reportFD, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fail(report{Type: reportError, Error: os.NewSyscallError("close_range", err).Error()})
	}
	listener, err := apply(c)
	if err != nil {
		fail(report{Type: reportError, Error: err.Error()})
	}
	if listener != nil {
		if err := send(sock, report{Type: reportListener}, int(listener.Fd())); err != nil {
			fail(report{Type: reportError, Error: err.Error()})
		}
		listener.Close()
	}
	// The payload must not exist before init is ready for it (its spare
	// threads kept, its signals caught): wait for the go-ahead. EOF means
	// init is gone or gave up on this process: nobody to report to.
	if !awaitGo(sock) {
		os.Exit(exitSetup)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, reexec.Env+"=") || strings.HasPrefix(kv, policyEnv+"=")
	})
	err = unix.Exec(c.Path, os.Args, env)
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = unix.EINVAL
	}
	fail(report{Type: reportExecError, Code: int(errno)})
}

// apply applies, in order: a persona without the flags that weaken ASLR
// or NX, a session keyring of the payload's own, then
// Landlock, then an empty bounding set (capbset_linux.go), then the
// seccomp filter (last: it denies keyctl). It returns
// the filter's listener, if it has one.
func apply(c Policy) (*os.File, error) {
	if err := resetPersona(); err != nil {
		return nil, err
	}
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

// resetPersona clears the persona flags that weaken address-space layout
// randomisation or NX (`setarch -R sandbox run ...`): the filter denies
// the payload setting them, so it does not start with them either. An
// exec that gains privileges clears them too; the payload's gains none.
func resetPersona() error {
	cur, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	if errno != 0 {
		return fmt.Errorf("reading the persona: %w", os.NewSyscallError("personality", errno))
	}
	if cur&seccomp.WeakeningPersona == 0 {
		return nil
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, cur&^seccomp.WeakeningPersona, 0, 0); errno != 0 {
		return fmt.Errorf("clearing the persona's ASLR and NX flags: %w", os.NewSyscallError("personality", errno))
	}
	return nil
}
