package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
