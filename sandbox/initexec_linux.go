package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"sandbox/confine"
	"sandbox/console"
	"sandbox/control"
	"sandbox/userns"
)

// Init's side of `sandbox exec`: init is already inside every namespace of
// the sandbox, so it starts the process itself, the way it started the
// payload (payloadCommand: nested user and mount namespaces, ids, a new
// session), and inherits to it what it set on itself (rlimits,
// no_new_privs). The process is init's child: it shows in `ps` inside and
// dies with the sandbox.

// supervise waits as pid 1: it forwards signals to the payload, starts
// what exec requests ask for, reaps every child, reports each exec'd
// process's end, and returns the payload's wait status when it ends.
// Chrooted (no pivot_root, see mounts.Build) refuses uid 0 to exec as it
// does to the payload. Must be called with the OS thread locked (the
// children's Pdeathsig).
func supervise(sock syncSocket, spec *Spec, chrooted bool, payload int, signals chan os.Signal, d *confine.Denials) syscall.WaitStatus {
	requests := make(chan received, 4)
	go func() {
		for {
			m, files, err := sock.recv()
			if err != nil || m.Type == "" {
				return // the parent is gone: its death signal ends us
			}
			requests <- received{msg: m, files: files}
		}
	}()
	execs := map[int]int{} // pid → exec id
	for {
		select {
		case m := <-requests:
			switch m.msg.Type {
			case msgExec:
				if pid := startExec(sock, spec, chrooted, m, d); pid > 0 {
					execs[pid] = m.msg.ExecID
				}
			case msgExecSignal:
				for pid, id := range execs {
					if id == m.msg.ExecID {
						_ = unix.Kill(pid, syscall.Signal(m.msg.Signal))
					}
				}
			}
			closeAll(m.files)
		case sig := <-signals:
			if sig != unix.SIGCHLD {
				_ = unix.Kill(payload, sig.(syscall.Signal))
				continue
			}
			if ws, done := reapAll(sock, payload, execs); done {
				return ws
			}
		}
	}
}

// reapAll reaps every child that has ended, reporting exec'd ones.
func reapAll(sock syncSocket, payload int, execs map[int]int) (syscall.WaitStatus, bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return 0, false
		}
		if !ws.Exited() && !ws.Signaled() {
			continue
		}
		if pid == payload {
			return ws, true
		}
		if id, ok := execs[pid]; ok {
			delete(execs, pid)
			_ = sock.send(message{Type: msgExecExited, ExecID: id, Status: int(ws)})
		}
	}
}

// startExec starts one exec request and returns its pid, or 0 when it
// could not start (the client has been told).
func startExec(sock syncSocket, spec *Spec, chrooted bool, m received, d *confine.Denials) int {
	id := m.msg.ExecID
	fail := func(code int, msg string) int {
		_ = sock.send(message{Type: msgExecFailed, ExecID: id, Code: code, Error: msg})
		return 0
	}
	es, err := execSpec(spec, m.msg.Exec)
	if err != nil {
		return fail(ExitSetup, err.Error())
	}
	if chrooted && es.Process.UID == 0 {
		return fail(ExitSetup, "exec as root is refused on a host running from its initramfs: without pivot_root the sandbox is a chroot that uid 0 could leave")
	}
	cmd, err := payloadCommand(es)
	if err != nil {
		return fail(ExitSetup, err.Error())
	}
	var master, slave *os.File
	switch {
	case es.Process.Terminal:
		if master, slave, err = pty.Open(); err != nil {
			return fail(ExitSetup, fmt.Sprintf("opening a pty in the sandbox: %v", err))
		}
		defer master.Close()
		defer slave.Close()
		_ = console.SetSize(int(master.Fd()), es.Process.Size)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
	case len(m.files) == 3:
		cmd.Stdin, cmd.Stdout, cmd.Stderr = m.files[0], m.files[1], m.files[2]
	default:
		return fail(ExitSetup, "exec: the request carried no standard streams")
	}
	// Init's own setup is long done: the stage may exec as soon as it has
	// confined itself.
	s, err := startStage(cmd, es.Process.Args[0])
	if err == nil {
		err = s.proceed(d)
	}
	if err != nil {
		var ee *execError
		if errors.As(err, &ee) {
			return fail(ee.code, ee.msg)
		}
		return fail(ExitSetup, err.Error())
	}
	if master != nil {
		_ = sock.send(message{Type: msgExecConsole, ExecID: id}, int(master.Fd()))
	}
	_ = sock.send(message{Type: msgExecStarted, ExecID: id})
	return cmd.Process.Pid
}

// execSpec is the payload's Spec with the process the request asks for:
// its command, its settings over the payload's environment, working
// directory and user.
func execSpec(spec *Spec, req *control.ExecRequest) (*Spec, error) {
	if req == nil || len(req.Args) == 0 {
		return nil, fmt.Errorf("exec: no command")
	}
	es := *spec
	p := spec.Process
	p.Args, p.Terminal, p.Size = req.Args, req.Terminal, req.Size
	p.Env = append(append([]string(nil), p.Env...), req.Env...)
	if req.Cwd != "" {
		p.Cwd = path.Join(p.Cwd, req.Cwd) // an absolute Cwd wins
		if path.IsAbs(req.Cwd) {
			p.Cwd = path.Clean(req.Cwd)
		}
	}
	if req.User != "" {
		uids, uerr := outerMap("/proc/self/uid_map")
		gids, gerr := outerMap("/proc/self/gid_map")
		if uerr != nil || gerr != nil {
			return nil, fmt.Errorf("reading the sandbox's id maps: %v %v", uerr, gerr)
		}
		own := func(maps []userns.IDMap) int {
			for _, m := range maps {
				if m.ContainerID == 0 {
					return m.HostID
				}
			}
			return 0
		}
		p.UID, p.GID = 0, 0
		if req.User == "self" {
			p.UID, p.GID = own(uids), own(gids)
		}
		es.UIDMap = userns.Within(userns.Nested(req.User, own(uids), userns.Total(uids)), uids)
		es.GIDMap = userns.Within(userns.Nested(req.User, own(gids), userns.Total(gids)), gids)
	}
	es.Process = p
	if _, err := os.Stat(p.Cwd); err != nil {
		return nil, fmt.Errorf("exec: working directory %s: %w", p.Cwd, unwrapPath(err))
	}
	return &es, nil
}

// outerMap reads init's own id map: ids inside, and what they are in the
// parent namespace (the kernel shows them so to a reader in the same
// namespace).
func outerMap(file string) ([]userns.IDMap, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []userns.IDMap
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m userns.IDMap
		if _, err := fmt.Sscan(sc.Text(), &m.ContainerID, &m.HostID, &m.Size); err == nil {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
