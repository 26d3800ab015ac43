package sandbox

import (
	"os"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/control"
)

// The server of the control socket (package control): the run's `sandbox`
// process, its supervisor, takes `sandbox exec` and `sandbox stop`
// requests in its wait loop. An exec request is relayed to init over the
// sync socket, and init's answers about it (exec-console, exec-started,
// exec-failed, exec-exited) back to the client; see docs/internal.md.
const (
	msgExec        = control.MsgExec
	msgSignal      = control.MsgSignal
	msgExecSignal  = "exec-signal" // supervisor → init: Signal to exec ExecID
	msgStop        = control.MsgStop
	msgExecConsole = control.MsgExecConsole
	msgExecStarted = control.MsgExecStarted
	msgExecFailed  = control.MsgExecFailed
	msgExecExited  = control.MsgExecExited
)

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
	fd, err := control.Listen(state)
	if err != nil {
		return nil, err
	}
	c := &controller{fd: fd, requests: make(chan ctlRequest, 16), execs: map[int]syncSocket{}}
	go c.accept()
	return c, nil
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
