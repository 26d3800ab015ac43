package workspace

import (
	"os"
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
			err := CheckProject(tt.project, h, ProjectCheck{RunDir: tt.runDir})
			if refused := err != nil; refused != tt.refused {
				t.Fatalf("CheckProject(%q, runDir %q) = %v, want refused %v", tt.project, tt.runDir, err, tt.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "the sandbox tool's own directory "+run) {
				t.Errorf("CheckProject(%q) = %q, want it to name %s", tt.project, err, run)
			}
		})
	}
}

// TestCheckProjectHostCodeDirs: a directory the host runs code from is a
// project only when named (review 13, #8); the hard refusals stay even
// when named.
func TestCheckProjectHostCodeDirs(t *testing.T) {
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	xdg := filepath.Join(tmp, "other", "conf")
	h := host.Host{Home: home, DataDir: filepath.Join(tmp, "data"), Environ: []string{"XDG_CONFIG_HOME=" + xdg}}
	tests := []struct {
		name, project  string
		named, refused bool
	}{
		{"a home dot-directory", filepath.Join(home, ".config", "nvim"), false, true},
		{"~/.local/bin", filepath.Join(home, ".local", "bin"), false, true},
		{"~/bin", filepath.Join(home, "bin"), false, true},
		{"$XDG_CONFIG_HOME outside the home", filepath.Join(xdg, "app"), false, true},
		{"holding $XDG_CONFIG_HOME", filepath.Join(tmp, "other"), false, true},
		{"named with --project", filepath.Join(home, ".config", "nvim"), true, false},
		{"a project in the home", filepath.Join(home, "src", "app"), false, false},
		{"a dot-directory in a project", filepath.Join(home, "src", ".app"), false, false},
		{"the home, named", home, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckProject(tt.project, h, ProjectCheck{Named: tt.named})
			if refused := err != nil; refused != tt.refused {
				t.Fatalf("CheckProject(%q, named %v) = %v, want refused %v", tt.project, tt.named, err, tt.refused)
			}
		})
	}
}

// TestCheckProjectLinkedHostCode: with a dotfile manager's links
// (~/.config/nvim -> ~/dotfiles/nvim, ~/.vimrc -> ~/dotfiles/vimrc), the
// directory they point into is the host's code too (review 2).
func TestCheckProjectLinkedHostCode(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	for _, d := range []string{"dotfiles/nvim", "src/app", ".config"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(home, "dotfiles", "vimrc"), nil, 0o644)
	if err := os.Symlink(filepath.Join(home, "dotfiles", "nvim"), filepath.Join(home, ".config", "nvim")); err != nil {
		t.Fatal(err)
	}
	h := host.Host{Home: home, DataDir: filepath.Join(home, ".local", "share", "sandbox")}
	for project, refused := range map[string]bool{
		filepath.Join(home, "dotfiles"):         true,
		filepath.Join(home, "dotfiles", "nvim"): true,
		filepath.Join(home, "src", "app"):       false,
	} {
		if err := CheckProject(project, h, ProjectCheck{}); (err != nil) != refused {
			t.Errorf("CheckProject(%s) = %v, want refused %v", project, err, refused)
		}
	}
	// A link to a file counts too, once the directory holds nothing else linked.
	os.Remove(filepath.Join(home, ".config", "nvim"))
	if err := os.Symlink(filepath.Join(home, "dotfiles", "vimrc"), filepath.Join(home, ".vimrc")); err != nil {
		t.Fatal(err)
	}
	if err := CheckProject(filepath.Join(home, "dotfiles"), h, ProjectCheck{}); err == nil {
		t.Error("~/dotfiles with ~/.vimrc linked into it is not refused")
	}
	if err := CheckProject(filepath.Join(home, "dotfiles"), h, ProjectCheck{Named: true}); err != nil {
		t.Errorf("named with --project, ~/dotfiles is refused: %v", err)
	}
}

// TestCheckProjectResolvesEachDir: the home and the tool's own
// directories are compared by where their links lead (each resolved
// once, issue 18): a project that is one of them, or holds one, under its
// real path is refused.
func TestCheckProjectResolvesEachDir(t *testing.T) {
	tmp := t.TempDir()
	for _, d := range []string{"real/home/.config", "real/data/sandbox", "real/run/sandbox", "src/app"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"home", "data", "run"} {
		if err := os.Symlink(filepath.Join(tmp, "real", l), filepath.Join(tmp, l)); err != nil {
			t.Fatal(err)
		}
	}
	h := host.Host{Home: filepath.Join(tmp, "home"), DataDir: filepath.Join(tmp, "data", "sandbox")}
	run := filepath.Join(tmp, "run", "sandbox")
	for _, tt := range []struct {
		project string
		refused bool
	}{
		{"real/home", true},
		{"real", true},
		{"real/home/.config", true},
		{"real/data/sandbox", true},
		{"real/data", true},
		{"real/run/sandbox", true},
		{"src/app", false},
	} {
		err := CheckProject(filepath.Join(tmp, tt.project), h, ProjectCheck{RunDir: run})
		if refused := err != nil; refused != tt.refused {
			t.Errorf("CheckProject(%s) = %v, want refused %v", tt.project, err, tt.refused)
		}
	}
}
