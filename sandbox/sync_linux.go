package sandbox

import (
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Message types on the sync socket, in the order they flow (doc.go).
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
	Exec      *ExecRequest `json:"exec,omitempty"`
	ExecID    int          `json:"exec_id,omitempty"`
	Signal    int          `json:"signal,omitempty"`
	TimeoutMS int64        `json:"timeout_ms,omitempty"`
}

// maxMessage bounds one datagram; a Spec is a few kilobytes.
const maxMessage = 1 << 20

// syncSocket is one end of the parent/init socket pair.
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
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(int(s.f.Fd()), b, oob, nil, 0); err != nil {
		return fmt.Errorf("sending %q on the sync socket: %w", m.Type, err)
	}
	return nil
}

// recv returns the next message and the files it carried. The end of the
// stream is reported as a message of type "".
func (s syncSocket) recv() (message, []*os.File, error) {
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(s.f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return message{}, nil, fmt.Errorf("reading the sync socket: %w", err)
		}
		if n == 0 && oobn == 0 {
			return message{}, nil, nil
		}
		var m message
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			return message{}, nil, fmt.Errorf("decoding a sync message: %w", err)
		}
		var files []*os.File
		if oobn > 0 {
			cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err == nil && len(cmsgs) > 0 {
				fds, _ := unix.ParseUnixRights(&cmsgs[0])
				for _, fd := range fds {
					files = append(files, os.NewFile(uintptr(fd), m.Type))
				}
			}
		}
		return m, files, nil
	}
}
