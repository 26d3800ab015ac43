package confine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/seccomp"
)

// The stage reports to init over a SOCK_SEQPACKET socket, one JSON
// datagram each: an error before its exec, the filter's listener, or the
// errno of a failed exec. EOF (the stage's end is close-on-exec) means
// the exec worked. Init sends one datagram the other way: the go-ahead
// the confined stage waits for before its exec.
const (
	reportError     = "error"            // confining failed; Error
	reportListener  = "seccomp-listener" // the filter's listener rides along
	reportExecError = "exec-error"       // the exec failed; Code is its errno
	reportGo        = "go"               // from init: exec the command now
)

// report is one datagram from the stage to init.
type report struct {
	Type  string `json:"type"`
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

// maxReport bounds one datagram: an error message.
const maxReport = 64 << 10

func send(sock *os.File, r report, fds ...int) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	// MSG_NOSIGNAL: a peer that is gone is an error here, not a SIGPIPE.
	if err := unix.Sendmsg(int(sock.Fd()), b, oob, nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("sending %q on the payload stage's socket: %w", r.Type, err)
	}
	return nil
}

// recv returns the next report and the files it carried; EOF is a report
// of type "".
func recv(sock *os.File) (report, []*os.File, error) {
	buf := make([]byte, maxReport)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		// ECONNRESET: the peer closed with a datagram of ours unread (a
		// stage that failed or died before it read the go-ahead). The
		// kernel reports that once, before what the peer sent: read on.
		if err == unix.EINTR || err == unix.ECONNRESET {
			continue
		}
		if err != nil {
			return report{}, nil, os.NewSyscallError("recvmsg", err)
		}
		if n == 0 && oobn == 0 {
			return report{}, nil, nil
		}
		var r report
		if err := json.Unmarshal(buf[:n], &r); err != nil {
			return report{}, nil, fmt.Errorf("decoding a report: %w", err)
		}
		var files []*os.File
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(cmsgs) > 0 {
			fds, _ := unix.ParseUnixRights(&cmsgs[0])
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), r.Type))
			}
		}
		return r, files, nil
	}
}

// ExecError is a command the stage could not exec.
type ExecError struct {
	Errno syscall.Errno // exec's error
}

func (e *ExecError) Error() string { return "exec: " + e.Errno.Error() }
func (e *ExecError) Unwrap() error { return e.Errno }

// Proceed lets the stage on init's end of its socket exec its command:
// until then it waits, confined, and the command does not exist. A stage
// that has already failed and exited is no error here: its report waits
// for Wait.
func Proceed(sock *os.File) error {
	err := send(sock, report{Type: reportGo})
	if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) {
		return nil
	}
	return err
}

// awaitGo waits for init's go-ahead (Proceed); false when init closed its
// end first or sent anything else.
func awaitGo(sock *os.File) bool {
	r, files, err := recv(sock)
	for _, f := range files {
		f.Close()
	}
	return err == nil && r.Type == reportGo
}

// Wait reads the stage's reports from init's end of its socket until
// EOF, which means the stage's exec succeeded, and returns nil. The
// filter's listener is served on the way, counting into d. A command the
// stage could not exec is an *ExecError; any other error means the stage
// could not start or confine it.
func Wait(sock *os.File, d *Denials) error {
	for {
		r, files, err := recv(sock)
		if err != nil {
			return fmt.Errorf("reading the payload stage's report: %w", err)
		}
		switch r.Type {
		case "":
			return nil
		case reportListener:
			if len(files) == 1 {
				go seccomp.Serve(files[0], d.add)
			}
		case reportExecError:
			return &ExecError{Errno: syscall.Errno(r.Code)}
		default:
			return fmt.Errorf("confining the payload: %s", r.Error)
		}
	}
}

// Denials counts the calls the filter denied, by name: init answers the
// filter's notifications (the stage hands it the listener), so that the
// run's summary can say what was denied.
type Denials struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *Denials) add(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[name]++
}

// Counts are the denied calls so far, by name.
func (d *Denials) Counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.n)
}
