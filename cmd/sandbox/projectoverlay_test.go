package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProjectOverlayDiffApplyDiscard(t *testing.T) {
	p := newProject(t)
	write := func(name, body string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(p.dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(p.dir, name))
		return string(b)
	}
	write("sandbox.toml", "project = \"overlay\"\n")
	write("a.txt", "orig\n")
	write("b.txt", "keep\n")
	write("sub/s.txt", "s\n")
	p.output(t, "run", "--", "sh", "-c", "echo changed > a.txt; rm b.txt; echo new > c.txt; mkdir d; echo x > d/x; echo more > sub/t.txt")
	if read("a.txt") != "orig\n" || read("b.txt") != "keep\n" {
		t.Fatal("writes inside reached the project before apply")
	}
	want := []string{"C a.txt", "D b.txt", "A c.txt", "A d", "A d/x", "C sub", "A sub/t.txt"}
	got := strings.Split(strings.TrimSpace(p.output(t, "diff", "--project")), "\n")
	for i := range got {
		got[i] = strings.Replace(got[i], p.dir+"/", "", 1)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("diff --project = %v, want %v", got, want)
	}
	// A host edit of an unrelated file is no conflict.
	write("sub/s.txt", "host\n")
	p.output(t, "apply")
	if read("a.txt") != "changed\n" || read("c.txt") != "new\n" || read("d/x") != "x\n" || read("sub/s.txt") != "host\n" {
		t.Errorf("after apply: a=%q c=%q d/x=%q sub/s=%q", read("a.txt"), read("c.txt"), read("d/x"), read("sub/s.txt"))
	}
	if _, err := os.Stat(filepath.Join(p.dir, "b.txt")); err == nil {
		t.Error("b.txt deleted inside is still in the project")
	}
	if out := p.output(t, "diff", "--project"); out != "" {
		t.Errorf("diff --project after apply: %q", out)
	}
	// A host edit of a file the sandbox changed: refused, nothing written.
	p.output(t, "run", "--", "sh", "-c", "echo inside > a.txt; echo also > e.txt")
	write("a.txt", "host edit\n")
	_, errOut, code := p.run(t, "apply")
	if code != 125 || !strings.Contains(errOut, "a.txt") || !strings.Contains(errOut, "nothing was applied") {
		t.Errorf("conflicting apply: code %d, stderr %q", code, errOut)
	}
	if read("a.txt") != "host edit\n" || read("e.txt") != "" {
		t.Errorf("a conflicting apply wrote: a=%q e=%q", read("a.txt"), read("e.txt"))
	}
	p.output(t, "discard")
	if out := p.output(t, "run", "--", "cat", "a.txt"); out != "host edit\n" {
		t.Errorf("after discard the sandbox sees %q", out)
	}
	// The host turns a directory into a symlink out of the project after
	// the sandbox wrote below it: apply must not write through it.
	outside := t.TempDir()
	p.output(t, "run", "--", "sh", "-c", "echo evil > sub/planted")
	os.RemoveAll(filepath.Join(p.dir, "sub"))
	os.Symlink(outside, filepath.Join(p.dir, "sub"))
	if _, _, code := p.run(t, "apply"); code != 125 {
		t.Errorf("apply through a symlinked directory: exit %d, want 125", code)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("apply wrote outside the project: %v", entries)
	}
}
