package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The project's sandbox layer is mounted volatile (its end syncs no
// filesystem), keeps its changes from run to run, and a mark left from
// before this boot (the machine went down with the layer mounted) is
// cleared with a warning.
func TestSandboxLayerIsVolatile(t *testing.T) {
	_, ref := pushBusybox(t)
	p := imageProject(t, ref)
	out := p.output(t, "run", "--", "sh", "-c", "echo one >> /root/runs; grep ' / / ' /proc/self/mountinfo")
	if !strings.Contains(out, "volatile") {
		t.Errorf("the root's mount is not volatile: %s", out)
	}
	works, _ := filepath.Glob(filepath.Join(p.home, ".local/share/sandbox/sandboxes/*/work"))
	if len(works) != 1 {
		t.Fatalf("want one sandbox layer's work directory, got %v", works)
	}
	// The run's own mark (overlayfs makes the directories mode 0): age it
	// to before this boot.
	mark := filepath.Join(works[0], "work/incompat/volatile")
	for _, d := range []string{filepath.Dir(filepath.Dir(mark)), filepath.Dir(mark), mark} {
		if err := os.Chmod(d, 0o700); err != nil {
			t.Fatalf("the run left no volatile mark: %v", err)
		}
	}
	old := time.Now().Add(-10 * 365 * 24 * time.Hour)
	if err := os.Chtimes(mark, old, old); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := p.run(t, "run", "--", "sh", "-c", "echo two >> /root/runs; cat /root/runs")
	if code != 0 || stdout != "one\ntwo\n" {
		t.Errorf("second run = %d, %q (stderr %s); want 0 and both runs' lines", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "went down while a run had this project's sandbox layer mounted") {
		t.Errorf("no warning for a mark from before the boot: %s", stderr)
	}
	if _, stderr, code := p.run(t, "run", "--", "true"); code != 0 || strings.Contains(stderr, "went down") {
		t.Errorf("third run = %d, %s; want 0 without a warning", code, stderr)
	}
}
