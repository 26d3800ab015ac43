package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sandbox/imagestore"
)

// TestDiffMarksProtected: in project = "overlay" mode, diff --project
// marks the changes apply refuses to write (protected paths and anything
// with a .git component), in its listing and in --json, so that the
// review before apply shows them (review 13, #6: "diff --project should
// flag them"). The project on the host stays untouched.
func TestDiffMarksProtected(t *testing.T) {
	p := overlayWithProtectedWrites(t)
	protected := []string{"sub/.git/config", ".git/commondir", ".vscode/tasks.json", ".envrc"}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(p.output(t, "diff", "--project")), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			rel, _ := filepath.Rel(p.dir, f[1])
			lines[rel] = l
		}
	}
	for _, rel := range protected {
		if !strings.HasSuffix(lines[rel], "  (protected: apply will not write it)") {
			t.Errorf("diff --project does not mark %s: %q", rel, lines[rel])
		}
	}
	if l := lines["harmless"]; l == "" || strings.Contains(l, "protected") {
		t.Errorf("diff --project lists harmless as %q", l)
	}
	var changes []imagestore.Change
	if err := jsonUnmarshal(p.output(t, "diff", "--project", "--json"), &changes); err != nil {
		t.Fatal(err)
	}
	marked := map[string]bool{}
	for _, ch := range changes {
		rel, _ := filepath.Rel(p.dir, ch.Path)
		marked[rel] = ch.Protected
	}
	for _, rel := range protected {
		if !marked[rel] {
			t.Errorf("diff --project --json: %s not \"protected\": %v", rel, changes)
		}
	}
	if _, ok := marked["harmless"]; !ok || marked["harmless"] {
		t.Errorf("diff --project --json: harmless missing or marked: %v", changes)
	}
	for _, name := range []string{".envrc", ".vscode", "sub", "harmless"} {
		if _, err := os.Lstat(filepath.Join(p.dir, name)); err == nil {
			t.Errorf("the host's project has %s", name)
		}
	}
}
