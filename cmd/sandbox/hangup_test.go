package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestShellEndsWhenTheTerminalHangsUp: a shell whose terminal goes away
// without a SIGHUP reaching `sandbox` (it is not in the terminal's
// session, as under runuser) ends as a hang-up would end it.
func TestShellEndsWhenTheTerminalHangsUp(t *testing.T) {
	p := newProject(t)
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("shell = \"/bin/bash\"\n[env]\nPS1 = \"PROMPT$ \"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	cmd := p.command("shell")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// A session of its own without a controlling terminal: closing the
	// master sends SIGHUP to nobody.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	// Read on this goroutine: a Read in progress elsewhere would keep the
	// (blocking) master's fd open past Close, and no hang-up would come.
	var out []byte
	for !bytes.Contains(out, []byte("$ ")) {
		buf := make([]byte, 4096)
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("reading the shell's prompt: %v; output so far:\n%s", err, out)
		}
		out = append(out, buf[:n]...)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	master.Close()
	// Without the hang-up the shell waits for input for ever: a deadline
	// far above the few milliseconds this takes fails such a run without
	// failing a slow machine (a second was once too short at load 20).
	select {
	case err = <-done:
	case <-time.After(patience):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the shell still ran %v after its terminal hung up; output:\n%s", patience, out)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 128+int(syscall.SIGHUP) {
		t.Errorf("shell after a hang-up: %v, want exit status %d (SIGHUP)", err, 128+int(syscall.SIGHUP))
	}
}

// TestHangUpEndsThePayloadsInput: when the user's terminal hangs up, the
// payload's terminal hangs up too, as a real hang-up does: SIGHUP, and
// reads that return end-of-file. A SIGHUP alone is not enough: bash's
// readline acts on a SIGHUP that lands just before it blocks only at its
// next input (seen with bash 5.2: TestShellEndsWhenTheTerminalHangsUp
// then hangs), so a payload that outlives the signal must see its input
// end. This payload catches SIGHUP (its first wait returns), and its
// reader (head, in the background so that the trap runs) ignores it: only
// the end of its input ends it.
func TestHangUpEndsThePayloadsInput(t *testing.T) {
	p := newProject(t)
	hangUpEndsInput(t, p, p.command("run", "-t", "--", "sh", "-c", hangUpScript))
}

// TestHangUpEndsTheExecsInput: `sandbox exec -t` does what run does when
// the user's terminal hangs up (review 2).
func TestHangUpEndsTheExecsInput(t *testing.T) {
	p := newProject(t)
	id := p.detach(t, "--", "sleep", "300")
	hangUpEndsInput(t, p, p.command("exec", "-t", id, "--", "sh", "-c", hangUpScript))
}

// hangUpScript records the SIGHUP, and whether a reader of the terminal
// that ignores SIGHUP sees its input end.
const hangUpScript = `trap 'echo hup > got-hup' HUP; exec 3<&0; (trap '' HUP; exec head -n 1 <&3) & echo ready; wait $!; wait $!; echo "read-ended-$?" > ended`

// hangUpEndsInput starts cmd on a terminal of its own, hangs that terminal
// up once the payload is ready, and waits for its SIGHUP and for the end
// of its reader's input.
func hangUpEndsInput(t *testing.T, p *project, cmd *exec.Cmd) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-waited })
	tty.Close()
	// Read on this goroutine, as above: then Close ends the master.
	var out []byte
	for !bytes.Contains(out, []byte("ready")) {
		buf := make([]byte, 4096)
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("reading the payload's output: %v; so far:\n%s", err, out)
		}
		out = append(out, buf[:n]...)
	}
	master.Close()
	waitUntil(t, patience, "the payload got SIGHUP", func() bool { return fileHas(filepath.Join(p.dir, "got-hup"), "hup") })
	deadline := time.Now().Add(patience)
	for !fileHas(filepath.Join(p.dir, "ended"), "read-ended-") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !fileHas(filepath.Join(p.dir, "ended"), "read-ended-") {
		t.Fatalf("the payload's read of its terminal did not end in %v after the user's terminal hung up (its SIGHUP came): the payload's PTY stays open", patience)
	}
}

// fileHas says whether the file at path exists and contains s.
func fileHas(path, s string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Contains(b, []byte(s))
}
