package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sandbox/internal/testenv"
	"sandbox/mounts"
)

// deliberateDifferences are the runtimetest lines allowed to fail: the
// guide's "Kernel surface" section names each deliberate difference (keep
// the two in step). There are none today.
var deliberateDifferences = []*regexp.Regexp{}

// runtimeConfig is what the default profile promises, as an OCI runtime
// config: the checks runtimetest can make from inside.
func runtimeConfig(cwd string) map[string]any {
	tmpfs := func(dest string) map[string]any { return map[string]any{"destination": dest, "type": "tmpfs"} }
	return map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"user": map[string]any{"uid": os.Getuid(), "gid": os.Getgid()},
			"args": []string{"./runtimetest"},
			"cwd":  cwd,
			// No capabilities at all, the bounding set included.
			"noNewPrivileges": true,
			"capabilities": map[string]any{"bounding": []string{}, "effective": []string{}, "inheritable": []string{},
				"permitted": []string{}, "ambient": []string{}},
		},
		"root":     map[string]any{"path": "/", "readonly": true},
		"hostname": "sandbox",
		"mounts": []map[string]any{
			tmpfs("/tmp"), tmpfs("/run"), tmpfs("/dev"),
			{"destination": "/dev/pts", "type": "devpts"}, tmpfs("/dev/shm"),
			{"destination": "/dev/mqueue", "type": "mqueue"},
			{"destination": "/proc", "type": "proc"},
			{"destination": "/sys", "type": "sysfs"},
		},
		"linux": map[string]any{
			"maskedPaths":   mounts.MaskedPaths,
			"readonlyPaths": mounts.ReadonlyPaths,
		},
	}
}

// The OCI runtime-tools runtimetest checks, from inside a sandbox of the
// default profile, what the config above promises: every line passes but
// the deliberate differences.
func TestRuntimeTest(t *testing.T) {
	testenv.Require(t, testenv.RuntimeTest)
	p := newProject(t)
	bin, err := os.ReadFile(os.Getenv("SANDBOX_TEST_RUNTIMETEST"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "runtimetest"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	config, err := json.MarshalIndent(runtimeConfig(p.dir), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := p.command("run", "--", "./runtimetest").CombinedOutput()
	passed := 0
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "ok "):
			passed++
		case strings.HasPrefix(line, "not ok "):
			if !deliberate(line) {
				t.Errorf("runtimetest: %s", line)
			}
		case strings.HasPrefix(line, "panic:"):
			t.Errorf("runtimetest crashed:\n%s", out)
		}
	}
	if passed < 100 {
		t.Errorf("runtimetest passed %d checks, want at least 100:\n%s", passed, out)
	}
	t.Logf("runtimetest: %d checks passed", passed)
}

func deliberate(line string) bool {
	for _, re := range deliberateDifferences {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}
