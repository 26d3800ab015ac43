package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sandbox/host"
)

// TestRemoveHomeRefusesARunningProject: a project among the live runs
// the caller passes keeps its home, and the error names the run's pid.
func TestRemoveHomeRefusesARunningProject(t *testing.T) {
	tmp := t.TempDir()
	h := host.Host{Home: filepath.Join(tmp, "home"), DataDir: filepath.Join(tmp, "data")}
	project := filepath.Join(tmp, "src", "app")
	home := filepath.Join(h.DataDir, "homes", ID(project))
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	hi := HomeInfo{ID: ID(project), Project: project, Home: home}
	running := []Run{{Project: filepath.Join(tmp, "other"), PID: 7}, {Project: project, PID: 42}}
	err := RemoveHome(h, hi, running)
	var we *Error
	if !errors.As(err, &we) || !strings.Contains(we.Msg, "has a running sandbox (pid 42)") || we.Hint() == "" {
		t.Fatalf("RemoveHome with %s running = %v, want a hinted refusal naming pid 42", project, err)
	}
	if _, err := os.Stat(home); err != nil {
		t.Errorf("the running project's home is gone: %v", err)
	}
}

// TestTouchHome: the home's record says which project it is and when it
// was last used (its mtime), whether it was missing, held other content,
// or already said so (then only its mtime is set: issue 18).
func TestTouchHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "app-0123456789ab")
	record := home + ".json"
	want := `{"project":"/src/app"}`
	old := time.Now().Add(-48 * time.Hour)
	for _, tc := range []struct {
		name    string
		content string // "": no record
	}{{"missing", ""}, {"other content", `{"project":"/elsewhere"}`}, {"current", want}} {
		os.Remove(record)
		if tc.content != "" {
			if err := os.WriteFile(record, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(record, old, old); err != nil {
				t.Fatal(err)
			}
		}
		before := time.Now().Add(-time.Second)
		TouchHome(home, "/src/app")
		b, err := os.ReadFile(record)
		if err != nil || string(b) != want {
			t.Errorf("%s: record after TouchHome = %q, %v; want %q", tc.name, b, err, want)
		}
		if fi, err := os.Stat(record); err != nil || fi.ModTime().Before(before) {
			t.Errorf("%s: record's mtime after TouchHome = %v, %v; want now", tc.name, fi.ModTime(), err)
		}
	}
}
