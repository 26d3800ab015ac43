package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/console"
)

// The control socket: a run's `sandbox` process (the supervisor) listens
// on ctl.sock in the run's state directory for `sandbox exec` and `sandbox
// stop`. The directory is 0700 and each peer's SO_PEERCRED uid must be
// ours, so only the user who started the run can reach it. An exec request
// is relayed to init over the sync socket, and init's answers about it
// (exec-console, exec-started, exec-failed, exec-exited) back to the
// client; see docs/internal.md.
const (
	msgExec        = "exec"         // client → supervisor → init: Exec, ExecID; stdio fds ride along
	msgSignal      = "signal"       // client → supervisor: Signal, for its exec
	msgExecSignal  = "exec-signal"  // supervisor → init: Signal to exec ExecID
	msgStop        = "stop"         // client → supervisor: TimeoutMS
	msgExecConsole = "exec-console" // init → supervisor → client: the PTY master rides along
	msgExecStarted = "exec-started" // init → ...: the process runs
	msgExecFailed  = "exec-failed"  // init → ...: Code, Error
	msgExecExited  = "exec-exited"  // init → ...: Status
)

// ctlFile is the control socket in the run's state directory.
const ctlFile = "ctl.sock"

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

type ctlRequest struct {
	conn  syncSocket
	msg   message
	files []*os.File
}

// controller is the supervisor's side of the control socket. Only the
// relay's wait loop calls its methods (but serve's goroutines).
type controller struct {
	fd       int
	requests chan ctlRequest
	execs    map[int]syncSocket
	next     int
	stopped  bool
}

// listenControl binds ctl.sock in the run's state directory.
func listenControl(state string) (*controller, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	path, done, err := shortPath(filepath.Join(state, ctlFile))
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	defer done()
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "bind", Path: filepath.Join(state, ctlFile), Err: err}
	}
	if err := unix.Listen(fd, 16); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	c := &controller{fd: fd, requests: make(chan ctlRequest, 16), execs: map[int]syncSocket{}}
	go c.accept()
	return c, nil
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

func (c *controller) accept() {
	for {
		nfd, _, err := unix.Accept4(c.fd, unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			return
		}
		cred, err := unix.GetsockoptUcred(nfd, unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err != nil || int(cred.Uid) != os.Getuid() {
			unix.Close(nfd)
			continue
		}
		go c.serve(syncSocket{os.NewFile(uintptr(nfd), "ctl")})
	}
}

// serve passes a client's messages to the wait loop; the end of the
// connection is passed on as a message of type "".
func (c *controller) serve(conn syncSocket) {
	for {
		m, files, err := conn.recv()
		if err != nil {
			m = message{}
		}
		c.requests <- ctlRequest{conn: conn, msg: m, files: files}
		if m.Type == "" {
			return
		}
	}
}

// reqs is the channel of client requests; nil (never ready) without one.
func (c *controller) reqs() <-chan ctlRequest {
	if c == nil {
		return nil
	}
	return c.requests
}

// handle acts on a client's message; a stop returns the grace period
// after which init gets SIGKILL.
func (c *controller) handle(req ctlRequest, r *relay) (grace time.Duration, kill bool) {
	defer closeAll(req.files)
	switch req.msg.Type {
	case msgExec:
		if req.msg.Exec == nil || len(req.msg.Exec.Args) == 0 {
			_ = req.conn.send(message{Type: msgExecFailed, Code: ExitSetup, Error: "exec: no command"})
			return 0, false
		}
		c.next++
		c.execs[c.next] = req.conn
		fds := make([]int, len(req.files))
		for i, f := range req.files {
			fds[i] = int(f.Fd())
		}
		if err := r.sock.send(message{Type: msgExec, Exec: req.msg.Exec, ExecID: c.next}, fds...); err != nil {
			_ = req.conn.send(message{Type: msgExecFailed, Code: ExitSetup, Error: err.Error()})
		}
	case msgSignal:
		for id, conn := range c.execs {
			if conn == req.conn {
				_ = r.sock.send(message{Type: msgExecSignal, ExecID: id, Signal: req.msg.Signal})
			}
		}
	case msgStop:
		c.stopped = true
		req.conn.f.Close()
		grace := time.Duration(req.msg.TimeoutMS) * time.Millisecond
		if grace <= 0 {
			return 0, true
		}
		_ = unix.Kill(r.pid, unix.SIGTERM)
		return grace, false
	case "":
		for id, conn := range c.execs {
			if conn == req.conn {
				delete(c.execs, id) // the process goes on; its output has nowhere to go
			}
		}
		req.conn.f.Close()
	}
	return 0, false
}

// fromInit forwards init's answer about an exec to its client; it reports
// whether m was one.
func (c *controller) fromInit(m received) bool {
	switch m.msg.Type {
	case msgExecConsole, msgExecStarted, msgExecFailed, msgExecExited:
	default:
		return false
	}
	defer closeAll(m.files)
	if c == nil {
		return true
	}
	conn, ok := c.execs[m.msg.ExecID]
	if !ok {
		return true
	}
	fds := make([]int, len(m.files))
	for i, f := range m.files {
		fds[i] = int(f.Fd())
	}
	_ = conn.send(m.msg, fds...)
	if m.msg.Type == msgExecFailed || m.msg.Type == msgExecExited {
		delete(c.execs, m.msg.ExecID)
	}
	return true
}

func (c *controller) close() {
	if c == nil {
		return
	}
	_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	unix.Close(c.fd)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// dialControl connects to a run's control socket.
func dialControl(state string) (syncSocket, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return syncSocket{}, os.NewSyscallError("socket", err)
	}
	path, done, err := shortPath(filepath.Join(state, ctlFile))
	if err != nil {
		unix.Close(fd)
		return syncSocket{}, err
	}
	defer done()
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return syncSocket{}, fmt.Errorf("connecting to the run's control socket %s: %w", filepath.Join(state, ctlFile), err)
	}
	return syncSocket{os.NewFile(uintptr(fd), "ctl")}, nil
}
