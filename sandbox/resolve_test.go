package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"sandbox/host"
	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/userns"
	"sandbox/workspace"
)

func testHost(t *testing.T) host.Host {
	home := t.TempDir()
	return host.Host{
		UID: 1000, GID: 1000, Name: "alice", Home: home,
		Environ: []string{"TERM=xterm", "LC_ALL=C", "GITHUB_TOKEN=secret", "HOME=/elsewhere", "SHELL=/bin/sh"},
		DataDir: filepath.Join(home, ".local/share/sandbox"),
		Root:    []mounts.Entry{{Name: "usr", Dir: true}},
	}
}

func TestNewSpec(t *testing.T) {
	h := testHost(t)
	project := t.TempDir()
	p := profiles.Defaults()
	p.Env = map[string]string{"GOFLAGS": "-mod=mod"}
	mapping := &userns.Mapping{UIDs: userns.Outer(1000, []userns.Range{{Start: 100000, Count: 65536}}), GIDs: userns.Outer(1000, []userns.Range{{Start: 100000, Count: 65536}})}
	spec, err := NewSpec(Options{Profile: p, Project: project, Mapping: mapping, Host: h, Files: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Process.Args; len(got) != 1 || got[0] != "/bin/sh" {
		t.Errorf("args = %v, want the shell", got)
	}
	env := strings.Join(spec.Process.Env, "\n")
	for _, want := range []string{"TERM=xterm", "LC_ALL=C", "GOFLAGS=-mod=mod", "HOME=" + h.Home, "USER=alice", "PATH=" + DefaultPath} {
		if !slices.Contains(spec.Process.Env, want) {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "GITHUB_TOKEN") || strings.Contains(env, "/elsewhere") {
		t.Errorf("host variables leaked:\n%s", env)
	}
	if spec.Process.UID != 1000 || spec.Process.Cwd != project || !spec.SetGroups {
		t.Errorf("process = %+v", spec.Process)
	}
	if _, err := os.Stat(filepath.Join(h.DataDir, "homes", workspace.ID(project))); err != nil {
		t.Errorf("the persistent home was not created: %v", err)
	}
	p.User = "root"
	spec, err = NewSpec(Options{Profile: p, Project: project, Mapping: mapping, Host: h, Args: []string{"id"}, Files: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Process.UID != 0 || !slices.Contains(spec.Process.Env, "HOME=/root") {
		t.Errorf("root mode: %+v", spec.Process)
	}
}

func TestNewSpecErrors(t *testing.T) {
	h := testHost(t)
	mapping := &userns.Mapping{UIDs: userns.Outer(1000, nil), GIDs: userns.Outer(1000, nil), Degraded: "test"}
	p := profiles.Defaults()
	if _, err := NewSpec(Options{Profile: p, Project: "/", Mapping: mapping, Host: h}); err == nil {
		t.Error("project / accepted")
	}
	p.Mounts = []profiles.Mount{{Source: "~/does-not-exist", Target: "/x"}}
	_, err := NewSpec(Options{Profile: p, Project: t.TempDir(), Mapping: mapping, Host: h})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(h.Home, "does-not-exist")) {
		t.Errorf("missing mount source: err = %v", err)
	}
}

func TestPasses(t *testing.T) {
	pats := []string{"TERM", "LC_*"}
	for name, want := range map[string]bool{"TERM": true, "LC_ALL": true, "LC_": true, "TERMINFO": false, "LANG": false} {
		if got := passes(pats, name); got != want {
			t.Errorf("passes(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestExitStatus(t *testing.T) {
	// Wait statuses as the kernel encodes them: exit code in bits 8-15,
	// terminating signal in bits 0-6.
	for ws, want := range map[syscall.WaitStatus]int{0: 0, 42 << 8: 42, 9: 137, 15: 143} {
		if got := ExitStatus(ws); got != want {
			t.Errorf("ExitStatus(%#x) = %d, want %d", int(ws), got, want)
		}
	}
}

func TestExecFailure(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOENT}, 127},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.EACCES}, 126},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOEXEC}, 126},
	} {
		if got, _ := execFailure("x", tt.err); got != tt.want {
			t.Errorf("execFailure(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
