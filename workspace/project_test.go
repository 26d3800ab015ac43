package workspace

import (
	"path/filepath"
	"strings"
	"testing"

	"sandbox/host"
)

// TestCheckProjectRefusesTheRunDir: the run-state directory, which
// CheckProject now gets from its caller, is refused as a project (it and
// what holds it), and a plain directory is not.
func TestCheckProjectRefusesTheRunDir(t *testing.T) {
	tmp := t.TempDir()
	h := host.Host{Home: filepath.Join(tmp, "home"), DataDir: filepath.Join(tmp, "data")}
	run := filepath.Join(tmp, "run", "sandbox")
	tests := []struct {
		name, project, runDir string
		refused               bool
	}{
		{"the run dir", run, run, true},
		{"below the run dir", filepath.Join(run, "123"), run, true},
		{"holding the run dir", filepath.Join(tmp, "run"), run, true},
		{"a project beside it", filepath.Join(tmp, "src", "app"), run, false},
		{"no run dir", filepath.Join(tmp, "src", "app"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckProject(tt.project, h, tt.runDir)
			if refused := err != nil; refused != tt.refused {
				t.Fatalf("CheckProject(%q, runDir %q) = %v, want refused %v", tt.project, tt.runDir, err, tt.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "the sandbox tool's own directory "+run) {
				t.Errorf("CheckProject(%q) = %q, want it to name %s", tt.project, err, run)
			}
		})
	}
}
