package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The payload's bounding capability set must be empty (bubblewrap empties
// it; OCI runtime-tools flags a full one). Init cannot do it for the
// payload: the kernel gives every new user namespace a full bounding set
// (set_cred_user_ns), and the payload's nested namespace is made by the
// clone that starts it. So the payload starts as this binary again, stage
// "payload", which empties the set inside that namespace and then execs
// the command. Its argv is [argv0, PATH, ARG0, ARG1, ...]; fd 3 is a pipe
// that stays open across a successful exec of the command (CLOEXEC) and
// otherwise carries the exec's errno back to init.

// payloadStage is the stage that execs the payload; it never returns.
func payloadStage() {
	unix.CloseOnExec(payloadErrFD)
	if len(os.Args) < 3 {
		os.Exit(ExitSetup)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if len(kv) < len(InitEnv)+1 || kv[:len(InitEnv)+1] != InitEnv+"=" {
			env = append(env, kv)
		}
	}
	err := dropCapabilities(os.Getuid() == 0)
	switch {
	case err != nil:
	case !strings.Contains(os.Args[1], "/"):
		err = unix.ENOENT // lookPath found nothing in PATH
	default:
		err = unix.Exec(os.Args[1], os.Args[2:], env)
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = unix.EPERM
	}
	os.NewFile(payloadErrFD, "exec-error").WriteString(strconv.Itoa(int(errno)))
	os.Exit(ExitCannotExec)
}

// payloadErrFD is where the payload stage reports a failed exec.
const payloadErrFD = 3

// dropCapabilities empties the bounding set. uid 0 keeps its capabilities
// in the nested namespace (root's exec gains the inheritable set, which is
// set before the bounding set is emptied); any other user ends with none.
func dropCapabilities(root bool) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capget", err)
	}
	if root {
		data[0].Inheritable, data[1].Inheritable = data[0].Permitted, data[1].Permitted
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return os.NewSyscallError("capset", err)
		}
	}
	for c := 0; ; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) && c > 0 {
				break // past the kernel's last capability
			}
			return os.NewSyscallError("prctl PR_CAPBSET_DROP", err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_CAP_AMBIENT_CLEAR_ALL", err)
	}
	if root {
		return nil
	}
	data = [2]unix.CapUserData{}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capset", err)
	}
	return nil
}

// startPayload starts cmd (from payloadCommand) and waits until the
// payload stage has exec'd the command, returning the exec's error.
func startPayload(cmd *exec.Cmd) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return err
	}
	b := make([]byte, 16)
	n, _ := r.Read(b)
	if n == 0 {
		return nil // EOF: the exec closed the pipe
	}
	errno, _ := strconv.Atoi(string(b[:n]))
	_ = cmd.Wait()
	return &os.PathError{Op: "exec", Path: cmd.Args[2], Err: syscall.Errno(errno)}
}
