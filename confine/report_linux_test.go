package confine

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWait: init reads the stage's reports as the stage sends them: EOF
// is a successful exec, an exec errno an *ExecError, anything else a
// failure to confine that names the stage's reason.
func TestWait(t *testing.T) {
	for _, tt := range []struct {
		name  string
		sent  []report
		errno unix.Errno // want an *ExecError with it
		err   string     // want this error
	}{
		{name: "exec worked"},
		{name: "exec failed", sent: []report{{Type: reportExecError, Code: int(unix.ENOENT)}}, errno: unix.ENOENT},
		{name: "confining failed", sent: []report{{Type: reportError, Error: "applying Landlock: x"}}, err: "confining the payload: applying Landlock: x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			initEnd, stageEnd := os.NewFile(uintptr(fds[0]), "init"), os.NewFile(uintptr(fds[1]), "stage")
			defer initEnd.Close()
			for _, r := range tt.sent {
				if err := send(stageEnd, r); err != nil {
					t.Fatal(err)
				}
			}
			stageEnd.Close() // the exec closes it
			err = Wait(initEnd, &Denials{})
			var ee *ExecError
			switch {
			case tt.errno != 0:
				if !errors.As(err, &ee) || ee.Errno != tt.errno {
					t.Errorf("Wait = %v, want an exec error %v", err, tt.errno)
				}
			case tt.err != "":
				if err == nil || err.Error() != tt.err || errors.As(err, &ee) {
					t.Errorf("Wait = %v, want %q", err, tt.err)
				}
			case err != nil:
				t.Errorf("Wait = %v, want nil", err)
			}
		})
	}
}
