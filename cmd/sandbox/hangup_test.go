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
