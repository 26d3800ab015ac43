package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"sandbox/control"
)

// Message types on the sync socket, in the order they flow
// (docs/internal.md).
const (
	msgMapped    = "mapped"     // parent: the outer id maps are written
	msgSpec      = "spec"       // parent: the Spec follows
	msgError     = "error"      // init: setup failed; Error, Hint
	msgConsole   = "console"    // init: the PTY master rides along
	msgExecError = "exec-error" // init: the payload could not start; Code
	msgStarted   = "started"    // init: the payload runs
	msgExited    = "exited"     // init: the payload ended; Status
	msgNetwork   = "network"    // init: the network's sockets ride along (network.Child.Setup): the proxy's listeners, the resolver's socket
)

// message is one datagram on the SOCK_SEQPACKET sync socket.
type message struct {
	Type   string `json:"type"`
	Spec   *Spec  `json:"spec,omitempty"`
	Error  string `json:"error,omitempty"`
	Hint   string `json:"hint,omitempty"`
	Code   int    `json:"code,omitempty"`
	Status int    `json:"status,omitempty"` // raw wait status
	// Denied counts the system calls the filter denied, by name (exited).
	Denied map[string]int `json:"denied,omitempty"`
	// Exec messages (control_linux.go).
	Exec      *control.ExecRequest `json:"exec,omitempty"`
	ExecID    int                  `json:"exec_id,omitempty"`
	Signal    int                  `json:"signal,omitempty"`
	TimeoutMS int64                `json:"timeout_ms,omitempty"`
}

// syncSocket is one end of the parent/init socket pair. It uses the
// control socket's framing (control.Send, control.Recv): init's answers
// about an exec pass through the supervisor to the client as they are.
type syncSocket struct{ f *os.File }

// newSocketPair returns the parent's end and the child's end; both are
// close-on-exec, and exec.Cmd.ExtraFiles clears that on the child's copy.
func newSocketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

func (s syncSocket) send(m message, fds ...int) error {
	if err := control.Send(s.f, m, fds...); err != nil {
		return fmt.Errorf("sending %q on the sync socket: %w", m.Type, err)
	}
	return nil
}

// recv returns the next message and the files it carried. The end of the
// stream is reported as a message of type "".
func (s syncSocket) recv() (message, []*os.File, error) {
	var m message
	files, err := control.Recv(s.f, &m)
	if err != nil {
		return message{}, nil, fmt.Errorf("reading the sync socket: %w", err)
	}
	return m, files, nil
}
