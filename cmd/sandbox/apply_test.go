package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A directory the sandbox made unreadable (mode 000) does not make apply
// write half of the changes and then wedge the sandbox: apply reads and
// checks everything before it writes, and the sandbox stays usable.
func TestApplyUnreadableDirectory(t *testing.T) {
	p := newProject(t)
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("project = \"overlay\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p.dir, "a.txt"), []byte("orig\n"), 0o644)
	p.output(t, "run", "--", "sh", "-c", "echo changed > a.txt; mkdir -p z/locked; echo x > z/locked/f; chmod 000 z/locked")
	out, errOut, code := p.run(t, "apply")
	t.Logf("apply: code %d\n%s%s", code, out, errOut)
	a, _ := os.ReadFile(filepath.Join(p.dir, "a.txt"))
	_, zerr := os.Lstat(filepath.Join(p.dir, "z"))
	if code != 0 && (string(a) != "orig\n" || zerr == nil) {
		t.Errorf("a failed apply wrote: a.txt=%q, z exists=%v", a, zerr == nil)
	}
	if code == 0 && string(a) != "changed\n" {
		t.Errorf("apply succeeded but a.txt=%q", a)
	}
	if _, errOut, code := p.run(t, "diff", "--project"); code != 0 {
		t.Errorf("diff --project after apply: exit %d: %s", code, errOut)
	}
	if got := p.output(t, "run", "--", "cat", "a.txt"); !strings.Contains(got, "changed") {
		t.Errorf("the sandbox after apply sees a.txt=%q", got)
	}
	os.Chmod(filepath.Join(p.dir, "z", "locked"), 0o755)
}

// An apply killed midway leaves its temporary file in the project; diff
// --project reports it, and the next apply removes it and completes.
func TestKilledApplyLeftovers(t *testing.T) {
	p := newProject(t)
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("project = \"overlay\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.output(t, "run", "--", "sh", "-c", "head -c 300000000 /dev/zero > big; echo small > small")
	cmd := p.command("apply")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var left []string
	deadline := time.Now().Add(20 * time.Second)
	for len(left) == 0 && time.Now().Before(deadline) {
		left, _ = filepath.Glob(filepath.Join(p.dir, ".sandbox-apply-*"))
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if len(left) == 0 {
		t.Fatal("apply wrote no temporary file before it ended")
	}
	// Wait for the killed helper's last write to land.
	for time.Now().Before(deadline) && len(processesWith(p.home)) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(left[0]); err != nil {
		t.Skipf("the apply finished its file before the kill: %v", err)
	}
	diff := p.output(t, "diff", "--project")
	if !strings.Contains(diff, "! "+left[0]) {
		t.Errorf("diff --project does not report %s:\n%s", left[0], diff)
	}
	p.output(t, "apply")
	if again, _ := filepath.Glob(filepath.Join(p.dir, ".sandbox-apply-*")); len(again) > 0 {
		t.Errorf("left after the next apply: %v", again)
	}
	if fi, err := os.Stat(filepath.Join(p.dir, "big")); err != nil || fi.Size() != 300000000 {
		t.Errorf("big after apply: %v %v", fi, err)
	}
}
