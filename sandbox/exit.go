package sandbox

import (
	"fmt"
	"syscall"
)

// Exit codes of `sandbox run`, as docker and podman use them. Any other code
// is the payload's own.
const (
	ExitSetup       = 125 // the sandbox could not be set up
	ExitCannotExec  = 126 // the command exists but cannot be executed
	ExitNotFound    = 127 // the command was not found
	exitSignalShift = 128 // 128+n: the payload was killed by signal n
)

// ExitStatus turns a wait status into an exit code: the exit status, or
// 128+n for death by signal n.
func ExitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return exitSignalShift + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// ExitError carries the payload's exit code out of Run's callers without
// printing anything: the payload has said what it had to.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExecError is a payload that could not be started: Code is 126 or 127.
type ExecError struct {
	Code int
	Msg  string
	// Fix, if set, says where a command that was not found is on the
	// host and how to make it visible.
	Fix string
}

func (e *ExecError) Error() string { return e.Msg }

// Hint is Fix.
func (e *ExecError) Hint() string { return e.Fix }

// SetupError is a failure inside the sandbox before the payload started,
// reported by init over the sync socket.
type SetupError struct {
	Msg string
	Fix string
}

func (e *SetupError) Error() string { return e.Msg }

// Hint says how to fix it, when init knew.
func (e *SetupError) Hint() string { return e.Fix }
