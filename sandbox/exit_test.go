package sandbox

import (
	"os"
	"syscall"
	"testing"

	"sandbox/control"
)

func TestExitStatus(t *testing.T) {
	// Wait statuses as the kernel encodes them: exit code in bits 8-15,
	// terminating signal in bits 0-6.
	for ws, want := range map[syscall.WaitStatus]int{0: 0, 42 << 8: 42, 9: 137, 15: 143} {
		if got := ExitStatus(ws); got != want {
			t.Errorf("ExitStatus(%#x) = %d, want %d", int(ws), got, want)
		}
	}
}

// The supervisor and init answer a failed exec with ExitSetup; the client
// (package control) reads that code as a setup failure, not a 126/127.
func TestExecSetupCode(t *testing.T) {
	if ExitSetup != control.CodeSetup {
		t.Errorf("ExitSetup = %d, control.CodeSetup = %d: an exec's setup failure would read as the process's own code", ExitSetup, control.CodeSetup)
	}
}

func TestExecFailure(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOENT}, 127},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.EACCES}, 126},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOEXEC}, 126},
	} {
		if got, _ := execFailure("x", tt.err); got != tt.want {
			t.Errorf("execFailure(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
