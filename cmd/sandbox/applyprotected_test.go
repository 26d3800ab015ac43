package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyRefusesProtected: in project = "overlay" mode a payload may
// write anything, but apply writes none of the places the host's git or
// editor runs code from (review 13, #2, #6): a new .git in a
// subdirectory, .git/commondir, editor tasks, .envrc. All or nothing:
// the harmless file beside them is not written either.
func TestApplyRefusesProtected(t *testing.T) {
	p := overlayWithProtectedWrites(t)
	_, errOut, code := p.run(t, "apply")
	if code != 125 {
		t.Fatalf("apply of protected paths: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"sub/.git", ".git/commondir", ".vscode", ".envrc", "nothing was applied", "by hand"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("apply's refusal does not name %q: %q", want, errOut)
		}
	}
	for _, name := range []string{"sub/.git", ".git/commondir", ".vscode/tasks.json", ".envrc", "harmless"} {
		if _, err := os.Lstat(filepath.Join(p.dir, name)); err == nil {
			t.Errorf("apply wrote %s", name)
		}
	}
}

// overlayWithProtectedWrites makes a project = "overlay" project whose
// sandbox has written protected places (a new .git in a subdirectory,
// .git/commondir, editor tasks, .envrc) and one harmless file.
func overlayWithProtectedWrites(t *testing.T) *project {
	t.Helper()
	p := newProject(t)
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("project = \"overlay\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(p.dir, ".git"), 0o755)
	p.output(t, "run", "--", "sh", "-c",
		"mkdir -p sub/.git .vscode && echo '[core]' > sub/.git/config && echo ../x > .git/commondir && "+
			"echo '{}' > .vscode/tasks.json && echo 'touch pwned' > .envrc && echo ok > harmless")
	return p
}
