package sandbox_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// publicHosts are real package hosts that examples, tests and docs must
// not name: they use reserved names (example.com, *.example.org, .test),
// and the test scripts the machine's own mirror (issue 11).
var publicHosts = regexp.MustCompile(`(?i)proxy[.]golang[.]org|sum[.]golang[.]org|npmjs[.](org|com)|deb[.]debian[.]org|pypi[.]org|python[h]osted`)

func TestNoPublicHostnames(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if path == "go.sum" || path == "go.mod" || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // a binary (a build output), not text we wrote
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := publicHosts.FindString(line); m != "" {
				t.Errorf("%s:%d names the public host %q: use a reserved name (example.com, *.example.org, .test)", path, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAptMirror reads the mirror from apt sources of both formats, as
// scripts/test-images.sh does.
func TestAptMirror(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // "" = fails
	}{
		{"one-line", map[string]string{
			"sources.list": "# comment\ndeb-src http://src.example.org/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian bookworm main\n",
		}, "http://mirror.example.org/debian"},
		{"deb822", map[string]string{
			"sources.list.d/other.sources": "Types: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\nEnabled: no\n",
			"sources.list.d/debian.sources": "Types: deb\n# a comment\nURIs: http://security.example.org/debian-security\nSuites: bookworm-security\nComponents: main\n\n" +
				"Types: deb deb-src\nURIs: http://deb822.example.org/debian http://second.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n",
		}, "http://deb822.example.org/debian"},
		{"none", map[string]string{
			"sources.list.d/x.sources": "Types: deb\nURIs: http://other.example.org/debian\nSuites: trixie\n",
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("scripts/apt-mirror.sh", "bookworm")
			cmd.Env = append(os.Environ(), "APT_DIR="+dir)
			out, err := cmd.Output()
			got := strings.TrimSpace(string(out))
			if tt.want == "" {
				if err == nil {
					t.Errorf("apt-mirror.sh = %q, want a failure", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("apt-mirror.sh = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
