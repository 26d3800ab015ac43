// Package reexec lets a package run code of its own in a fresh copy of this
// binary: a role (the sandbox's init, the payload stage, the image worker,
// the network watchdog) is registered by the package that owns it, and
// main hands control to it before the CLI parses anything. Moby's reexec is
// the model; the role travels in a private environment variable instead of
// argv[0], so that `ps` still shows our own name and a mistaken dispatch
// can never reach a user command such as `sandbox init`.
package reexec

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Env is the private variable that names the role; only this package and
// the roles' own environments carry it.
const Env = "_SANDBOX_INIT"

// Arg is a role's argv[1], so that `ps` tells it from the CLI; it is an
// unknown flag to the CLI.
const Arg = "--sandbox-init"

type role struct {
	name string // the thread's name (prctl PR_SET_NAME), for ps and top
	main func(args []string)
}

var roles = map[string]role{}

// Register makes role run main, named name, when this binary is started
// through Command(role). Call it from an init function; a role registered
// twice is a programming error.
func Register(roleName, name string, main func(args []string)) {
	if _, dup := roles[roleName]; dup {
		panic(fmt.Sprintf("reexec: role %q registered twice", roleName))
	}
	roles[roleName] = role{name: name, main: main}
}

// Init runs the role this process was started as and never returns; it
// returns false when the process is the CLI. An unknown role exits 125:
// the binary was replaced under a running sandbox.
func Init() bool {
	name := os.Getenv(Env)
	if name == "" {
		return false
	}
	runtime.LockOSThread()
	r, ok := roles[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "sandbox: unknown internal role %q (was the sandbox binary replaced while it ran?)\n", name)
		os.Exit(125)
	}
	// exec of /proc/self/exe names us "exe"; ps should say what we are.
	title := []byte(r.name + "\x00")
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&title[0])), 0, 0, 0)
	var args []string
	if len(os.Args) > 2 {
		args = os.Args[2:]
	}
	r.main(args)
	os.Exit(0)
	return true
}

// noZone keeps a role from reading /etc/localtime at package init (a
// dependency's initialiser asks for the local zone): roles keep no
// clock for people, and the payload's environment is its own.
const noZone = "TZ="

// Role is the role this process runs as, "" for the CLI.
func Role() string { return os.Getenv(Env) }

// Command starts this binary again as role with args; its environment is
// the role's variable alone.
func Command(roleName string, args ...string) *exec.Cmd {
	return CommandFrom("/proc/self/exe", roleName, args...)
}

// CommandFrom starts binary, another build of this program that registers
// role too (cmd/sandbox-init), as role with args.
func CommandFrom(binary, roleName string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, append([]string{Arg}, args...)...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = []string{Env + "=" + roleName, noZone}
	return cmd
}

// Exec replaces this process with this binary as role, with env added to
// the role's variable. It returns only on failure.
func Exec(roleName string, env ...string) error {
	return unix.Exec("/proc/self/exe", []string{os.Args[0], Arg}, append([]string{Env + "=" + roleName, noZone}, env...))
}

// Environ is the variable that selects role, for a command built by hand
// (one that must exec a sealed copy of the binary, not /proc/self/exe).
func Environ(roleName string) string { return Env + "=" + roleName }
