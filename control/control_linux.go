// Package control is the control socket of a running sandbox: its wire
// protocol and its client. A run's `sandbox` process (the supervisor)
// listens on ctl.sock in the run's state directory (the server is package
// sandbox's, beside the run it supervises); `sandbox exec` and `sandbox
// stop` connect to it (Exec, Stop). The directory is 0700 and the server
// checks each peer's SO_PEERCRED uid, so only the user who started the
// run can reach it.
//
// One message is one JSON datagram on a SOCK_SEQPACKET socket, with file
// descriptors beside it (Send, Recv). sandbox's sync socket between the
// parent and init uses the same framing: the supervisor relays an exec
// request to init over it, and init's answers back to the client, message
// for message; see docs/internal.md.
package control

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"sandbox/console"
)

// Message types of the control protocol, in the order they flow.
const (
	MsgExec        = "exec"         // client → supervisor → init: Exec (and ExecID to init); stdio fds ride along
	MsgSignal      = "signal"       // client → supervisor: Signal, for its exec
	MsgStop        = "stop"         // client → supervisor: TimeoutMS
	MsgExecConsole = "exec-console" // init → supervisor → client: the PTY master rides along
	MsgExecStarted = "exec-started" // init → ...: the process runs
	MsgExecFailed  = "exec-failed"  // init → ...: Code (CodeSetup, 126, 127), Error
	MsgExecExited  = "exec-exited"  // init → ...: Status
)

// CodeSetup is an exec-failed's code when the process could not be set
// up (sandbox.ExitSetup); 126 and 127 are a command that cannot run.
const CodeSetup = 125

// message is one datagram of the protocol. sandbox's sync message has
// these fields under the same names, so the supervisor passes messages on
// as they come.
type message struct {
	Type      string       `json:"type"`
	Exec      *ExecRequest `json:"exec,omitempty"`
	Signal    int          `json:"signal,omitempty"`
	TimeoutMS int64        `json:"timeout_ms,omitempty"`
	Code      int          `json:"code,omitempty"`
	Error     string       `json:"error,omitempty"`
	Status    int          `json:"status,omitempty"` // raw wait status
}

// File is the control socket in the run's state directory.
const File = "ctl.sock"

// ExecRequest is a process to start in a running sandbox.
type ExecRequest struct {
	Args []string `json:"args"`
	// Env are KEY=VALUE settings over the payload's environment.
	Env []string `json:"env,omitempty"`
	// Cwd: absolute, or relative to the payload's; "" is the payload's.
	Cwd string `json:"cwd,omitempty"`
	// User: "self" or "root"; "" is the payload's.
	User     string       `json:"user,omitempty"`
	Terminal bool         `json:"terminal,omitempty"`
	Size     console.Size `json:"size"`
}

// Listen binds the control socket in the run's state directory and
// returns the listening fd (close-on-exec).
func Listen(state string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	path, done, err := shortPath(filepath.Join(state, File))
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	defer done()
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "bind", Path: filepath.Join(state, File), Err: err}
	}
	if err := unix.Listen(fd, 16); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("listen", err)
	}
	return fd, nil
}

// dial connects to a run's control socket.
func dial(state string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	path, done, err := shortPath(filepath.Join(state, File))
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	defer done()
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connecting to the run's control socket %s: %w", filepath.Join(state, File), err)
	}
	return os.NewFile(uintptr(fd), "ctl"), nil
}

// shortPath names path by a /proc/self/fd link to its directory when it is
// too long for a unix socket address (108 bytes).
func shortPath(path string) (string, func(), error) {
	if len(path) < 100 {
		return path, func() {}, nil
	}
	dir, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(int(dir.Fd())) + "/" + filepath.Base(path), func() { dir.Close() }, nil
}
