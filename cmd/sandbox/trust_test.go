package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// On a terminal, a run of an untrusted profile shows its grants and asks
// once: no runs nothing, yes records the trust, and the next run does not
// ask.
func TestTrustPromptOnTerminal(t *testing.T) {
	p := newProject(t)
	canary := filepath.Join(filepath.Dir(p.dir), "canary")
	if err := os.MkdirAll(canary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(canary, "file"), []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	profile := "[[mount]]\nsource = \"" + canary + "\"\ntarget = \"/canary\"\n"
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(answer string, args ...string) (*lineReader, int) {
		t.Helper()
		cmd := p.command(append([]string{"run", "--"}, args...)...)
		master, err := pty.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		defer master.Close()
		out := readAll(master)
		if answer != "" {
			out.waitFor(t, 0, "trust it and run? [y/N] ")
			master.Write([]byte(answer))
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		out.waitFor(t, 0, "") // the reader has started
		return out, cmd.ProcessState.ExitCode()
	}

	out, code := run("n\n", "sh", "-c", "echo pwned > /canary/file; echo WROTE")
	if code != 125 || strings.Contains(out.String(), "WROTE") {
		t.Errorf("declined run exited %d:\n%s", code, out)
	}
	out.waitFor(t, 0, canary+" (rw)")
	out.waitFor(t, 0, "you declined")
	if b, _ := os.ReadFile(filepath.Join(canary, "file")); string(b) != "original\n" {
		t.Fatalf("canary changed by a declined run: %q", b)
	}

	out, code = run("y\n", "cat", "/canary/file")
	out.waitFor(t, 0, "original")
	out.waitFor(t, 0, "sandbox: this profile grants: "+canary+" (rw)")
	if code != 0 {
		t.Errorf("trusted run exited %d:\n%s", code, out)
	}

	out, code = run("", "cat", "/canary/file")
	out.waitFor(t, 0, "original")
	if code != 0 || strings.Contains(out.String(), "[y/N]") {
		t.Errorf("second run exited %d, asked again?\n%s", code, out)
	}
}
