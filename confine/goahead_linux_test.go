package confine

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/internal/reexec"
	"sandbox/internal/testenv"
)

// TestMain lets this test binary run the payload stage (role "payload").
func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}

// TestStageWaitsForGo: init starts the stage before its last steps, and
// the payload must not exist before they are done. A stage whose init
// closes its end without the go-ahead (init died, or gave up on an exec)
// exits 125 without running its command; with the go-ahead it runs it.
func TestStageWaitsForGo(t *testing.T) {
	testenv.Require(t, testenv.UserNS)
	for _, tt := range []struct {
		name string
		goes bool
	}{{"no go-ahead", false}, {"go-ahead", true}} {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			cmd, initEnd := startTestStage(t, "/bin/sh", "-c", "echo > "+marker)
			defer initEnd.Close()
			if tt.goes {
				if err := Proceed(initEnd); err != nil {
					t.Fatalf("Proceed = %v", err)
				}
				if err := Wait(initEnd, &Denials{}); err != nil {
					t.Fatalf("Wait = %v, want the exec", err)
				}
			} else {
				initEnd.Close()
			}
			err := cmd.Wait()
			_, statErr := os.Stat(marker)
			switch {
			case tt.goes && (err != nil || statErr != nil):
				t.Errorf("with the go-ahead: the command ended %v, its file: %v; want it run", err, statErr)
			case !tt.goes && statErr == nil:
				t.Errorf("without the go-ahead the stage ran its command")
			case !tt.goes && cmd.ProcessState.ExitCode() != exitSetup:
				t.Errorf("without the go-ahead the stage ended %v, want exit status %d", err, exitSetup)
			}
		})
	}
}

// startTestStage starts this binary as the payload stage of args, with no
// Landlock and no filter, as uid 0 of a user namespace of its own (where
// it may empty its bounding set), and returns it with init's end of its
// socket.
func startTestStage(t *testing.T, args ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	initEnd, stageEnd := os.NewFile(uintptr(fds[0]), "init"), os.NewFile(uintptr(fds[1]), "stage")
	env, err := Environ(Policy{Path: args[0]}, []string{"PATH=/usr/bin:/bin"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{
		Path: os.Args[0], Args: args, Env: env, ExtraFiles: []*os.File{stageEnd},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
			Pdeathsig:   syscall.SIGKILL,
		},
	}
	err = cmd.Start()
	stageEnd.Close()
	if err != nil {
		initEnd.Close()
		t.Fatal(err)
	}
	return cmd, initEnd
}

// TestProceedToAStageThatFailed: a stage that failed before it read the
// go-ahead has reported why and exited, before or after init sent it.
// Proceed is no error then (nor a SIGPIPE), and Wait returns the stage's
// reason, also when the go-ahead was left unread (the kernel then reports
// ECONNRESET once, before the queued report).
func TestProceedToAStageThatFailed(t *testing.T) {
	for _, tt := range []struct {
		name      string
		goesFirst bool
	}{{"failed before the go-ahead", false}, {"go-ahead left unread", true}} {
		t.Run(tt.name, func(t *testing.T) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			initEnd, stageEnd := os.NewFile(uintptr(fds[0]), "init"), os.NewFile(uintptr(fds[1]), "stage")
			defer initEnd.Close()
			if tt.goesFirst {
				if err := Proceed(initEnd); err != nil {
					t.Fatalf("Proceed = %v", err)
				}
			}
			if err := send(stageEnd, report{Type: reportError, Error: "applying Landlock: x"}); err != nil {
				t.Fatal(err)
			}
			stageEnd.Close()
			if !tt.goesFirst {
				if err := Proceed(initEnd); err != nil {
					t.Fatalf("Proceed = %v, want nil", err)
				}
			}
			var ee *ExecError
			if err := Wait(initEnd, &Denials{}); err == nil || errors.As(err, &ee) || err.Error() != "confining the payload: applying Landlock: x" {
				t.Errorf("Wait = %v, want the stage's reason", err)
			}
		})
	}
}
