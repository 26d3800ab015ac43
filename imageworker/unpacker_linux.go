package imageworker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/imagestore"
	"sandbox/internal/linux"
	"sandbox/internal/reexec"
	"sandbox/userns"
)

// Unpacker is the image store's imagestore.Unpacker for a user with
// subordinate ids: a helper process in a user namespace with the same id
// mapping as the sandbox's outer namespace unpacks layers, so that a file
// owned by uid 33 in the image is owned by 33 inside the sandbox, and
// removes those trees again (the user alone cannot: they belong to
// subordinate ids). The helper starts on first use and serves requests
// concurrently until Close.
type Unpacker struct {
	mapping *userns.Mapping

	mu      sync.Mutex
	cmd     *exec.Cmd
	enc     *json.Encoder
	pending map[int]chan workerReply
	next    int
	dead    error
}

// NewUnpacker returns the unpacker for this user: the user-namespace
// helper, or, without subordinate ids, in-process unpacking in which every
// file belongs to the user (root inside) — the degraded mode, which
// Degraded explains.
func NewUnpacker(m *userns.Mapping) imagestore.Unpacker {
	if m.Degraded != "" {
		return imagestore.InProcess{}
	}
	return &Unpacker{mapping: m, pending: map[int]chan workerReply{}}
}

type workerRequest struct {
	ID      int                        `json:"id"`
	Op      string                     `json:"op"` // "mapped", "unpack", "remove", "pack", "changes", "apply", "verify"
	Unpack  *imagestore.UnpackRequest  `json:"unpack,omitempty"`
	Pack    *imagestore.PackRequest    `json:"pack,omitempty"`
	Changes *imagestore.ChangesRequest `json:"changes,omitempty"`
	Apply   *imagestore.ApplyRequest   `json:"apply,omitempty"`
	Verify  *imagestore.VerifyRequest  `json:"verify,omitempty"`
	Path    string                     `json:"path,omitempty"`
}

type workerReply struct {
	ID     int                     `json:"id"`
	Result imagestore.UnpackResult `json:"result"`
	Packed imagestore.PackResult   `json:"packed"`
	List   []imagestore.Change     `json:"changes,omitempty"`
	Check  imagestore.VerifyResult `json:"check"`
	Error  string                  `json:"error,omitempty"`
	Errno  uint                    `json:"errno,omitempty"` // the error's errno, if any
	// Hostile and Owner carry the typed errors across.
	Hostile  *imagestore.HostileError   `json:"hostile,omitempty"`
	Owner    *imagestore.OwnerError     `json:"owner,omitempty"`
	Conflict *imagestore.ConflictError  `json:"conflict,omitempty"`
	Protect  *imagestore.ProtectedError `json:"protected,omitempty"`
}

// Owners implements imagestore.Unpacker.
func (u *Unpacker) Owners() bool { return true }

// Unpack implements imagestore.Unpacker.
func (u *Unpacker) Unpack(req imagestore.UnpackRequest) (imagestore.UnpackResult, error) {
	r, err := u.call(workerRequest{Op: "unpack", Unpack: &req})
	return r.Result, err
}

// Pack implements imagestore.Unpacker.
func (u *Unpacker) Pack(req imagestore.PackRequest) (imagestore.PackResult, error) {
	r, err := u.call(workerRequest{Op: "pack", Pack: &req})
	return r.Packed, err
}

// Changes implements imagestore.Unpacker.
func (u *Unpacker) Changes(req imagestore.ChangesRequest) ([]imagestore.Change, error) {
	r, err := u.call(workerRequest{Op: "changes", Changes: &req})
	return r.List, err
}

// Apply implements imagestore.Unpacker.
func (u *Unpacker) Apply(req imagestore.ApplyRequest) ([]imagestore.Change, error) {
	r, err := u.call(workerRequest{Op: "apply", Apply: &req})
	return r.List, err
}

// Verify implements imagestore.Unpacker: the layer's files may be
// readable only by their owners, subordinate ids.
func (u *Unpacker) Verify(req imagestore.VerifyRequest) (imagestore.VerifyResult, error) {
	r, err := u.call(workerRequest{Op: "verify", Verify: &req})
	return r.Check, err
}

// RemoveAll implements imagestore.Unpacker.
func (u *Unpacker) RemoveAll(path string) error {
	_, err := u.call(workerRequest{Op: "remove", Path: path})
	return err
}

// Close stops the helper.
func (u *Unpacker) Close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cmd != nil && u.dead == nil {
		u.cmd.Process.Kill()
		u.dead = errors.New("unpacker closed")
	}
}

func (u *Unpacker) call(req workerRequest) (workerReply, error) {
	u.mu.Lock()
	if u.cmd == nil && u.dead == nil {
		u.dead = u.start()
	}
	if u.dead != nil {
		err := u.dead
		u.mu.Unlock()
		return workerReply{}, err
	}
	u.next++
	req.ID = u.next
	ch := make(chan workerReply, 1)
	u.pending[req.ID] = ch
	err := u.enc.Encode(req)
	u.mu.Unlock()
	if err != nil {
		return workerReply{}, fmt.Errorf("talking to the unpacker: %w", err)
	}
	r, ok := <-ch
	switch {
	case !ok:
		return workerReply{}, u.dead
	case r.Hostile != nil:
		return r, r.Hostile
	case r.Owner != nil:
		return r, r.Owner
	case r.Conflict != nil:
		return r, r.Conflict
	case r.Protect != nil:
		return r, r.Protect
	case r.Error != "":
		return r, &workerError{msg: r.Error, errno: syscall.Errno(r.Errno)}
	}
	return r, nil
}

// workerError is an error of the helper, with its errno kept so that
// errors.Is(err, unix.ENOSPC) holds on this side too (a full disk gets
// its own hint).
type workerError struct {
	msg   string
	errno syscall.Errno
}

func (e *workerError) Error() string { return e.msg }

func (e *workerError) Unwrap() error {
	if e.errno == 0 {
		return nil
	}
	return e.errno
}

// start runs the helper in a new user namespace, maps the ids and waits
// until it serves with the namespace's capabilities. Must be called with
// u.mu held.
func (u *Unpacker) start() error {
	caps, err := userns.AmbientCaps()
	if err != nil {
		return fmt.Errorf("starting the layer unpacker: %w", err)
	}
	cmd := reexec.Command("unpack")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER, Pdeathsig: syscall.SIGKILL, AmbientCaps: caps}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if _, err := linux.StartLocked(cmd); err != nil {
		return fmt.Errorf("starting the layer unpacker: %w", userns.Explain(err))
	}
	u.cmd, u.enc = cmd, json.NewEncoder(in)
	if err := u.mapping.Write(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		return err
	}
	if err := u.enc.Encode(workerRequest{Op: "mapped"}); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReader(out))
	var ready workerReply
	if err := dec.Decode(&ready); err != nil || ready.Error != "" {
		cmd.Process.Kill()
		if ready.Error != "" {
			return fmt.Errorf("starting the layer unpacker: %s", ready.Error)
		}
		return fmt.Errorf("starting the layer unpacker: %w", err)
	}
	go u.readReplies(dec)
	return nil
}

func (u *Unpacker) readReplies(dec *json.Decoder) {
	for {
		var r workerReply
		err := dec.Decode(&r)
		u.mu.Lock()
		if err != nil {
			if u.dead == nil {
				u.dead = fmt.Errorf("the layer unpacker stopped: %v", err)
			}
			for id, ch := range u.pending {
				close(ch)
				delete(u.pending, id)
			}
			u.mu.Unlock()
			return
		}
		if ch := u.pending[r.ID]; ch != nil {
			ch <- r
			delete(u.pending, r.ID)
		}
		u.mu.Unlock()
	}
}

// unpackWorker is the helper's side (role "unpack"): empty the ambient
// set through which its exec kept the namespace's capabilities
// (userns.AmbientCaps), wait for the map, which makes it uid 0 of its
// namespace, then serve requests, each in its own goroutine. Started
// without them (a cgo build) it executes itself again once mapped, as role
// "unpack-2". Like the old second exec, it is not dumpable.
func unpackWorker(role string) int {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	in := bufio.NewReader(os.Stdin)
	if role == "unpack" {
		kept := userns.KeptAmbient()
		var dropErr error
		if kept {
			dropErr = userns.DropAmbient()
		}
		line, err := in.ReadBytes('\n')
		var req workerRequest
		if err != nil || json.Unmarshal(line, &req) != nil || req.Op != "mapped" {
			return exitSetup
		}
		if dropErr != nil {
			json.NewEncoder(os.Stdout).Encode(workerReply{Error: dropErr.Error()})
			return exitSetup
		}
		if !kept {
			err = reexec.Exec("unpack-2")
			json.NewEncoder(os.Stdout).Encode(workerReply{Error: fmt.Sprintf("re-executing the unpacker: %v", err)})
			return exitSetup
		}
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil || os.Getppid() == 1 {
		return exitSetup
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	reply := func(r workerReply) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(r)
	}
	reply(workerReply{})
	dec := json.NewDecoder(in)
	for {
		var req workerRequest
		if err := dec.Decode(&req); err != nil {
			if err == io.EOF {
				return 0
			}
			return exitSetup
		}
		go func() { reply(serveUnpack(req)) }()
	}
}

func serveUnpack(req workerRequest) workerReply {
	r := workerReply{ID: req.ID}
	var err error
	switch req.Op {
	case "unpack":
		r.Result, err = imagestore.UnpackFile(*req.Unpack)
	case "remove":
		err = os.RemoveAll(req.Path)
	case "pack":
		r.Packed, err = imagestore.Pack(*req.Pack)
	case "apply":
		r.List, err = imagestore.Apply(*req.Apply)
	case "verify":
		r.Check, err = imagestore.Verify(*req.Verify)
	case "changes":
		r.List, err = imagestore.Changes(req.Changes.Upper, req.Changes.Lowers, req.Changes.Ignore)
	default:
		err = fmt.Errorf("unknown request %q", req.Op)
	}
	var h *imagestore.HostileError
	var o *imagestore.OwnerError
	var c *imagestore.ConflictError
	var pe *imagestore.ProtectedError
	switch {
	case errors.As(err, &c):
		r.Conflict = c
	case errors.As(err, &pe):
		r.Protect = pe
	case errors.As(err, &h):
		r.Hostile = h
	case errors.As(err, &o):
		r.Owner = o
	case err != nil:
		r.Error = err.Error()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			r.Errno = uint(errno)
		}
	}
	return r
}
