package session

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/sandbox"
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
	spec, err := NewSpec(Request{Profile: p, Project: project}, Options{Root: HostRoot{}, Mapping: mapping, Host: h, Files: t.TempDir()})
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
	spec, err = NewSpec(Request{Profile: p, Project: project, Args: []string{"id"}}, Options{Root: HostRoot{}, Mapping: mapping, Host: h, Files: t.TempDir()})
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
	if _, err := NewSpec(Request{Profile: p, Project: "/"}, Options{Root: HostRoot{}, Mapping: mapping, Host: h}); err == nil {
		t.Error("project / accepted")
	}
	p.Mounts = []profiles.Mount{{Source: "~/does-not-exist", Target: "/x"}}
	_, err := NewSpec(Request{Profile: p, Project: t.TempDir()}, Options{Root: HostRoot{}, Mapping: mapping, Host: h})
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

// TestNewSpecOnImage resolves a request on an image with the same builder
// as on the host: the image's user, home, shell, PATH, working directory
// and command apply where the profile leaves them unset.
func TestNewSpecOnImage(t *testing.T) {
	h := testHost(t)
	project := t.TempDir()
	layer := t.TempDir()
	for name, content := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/bash\n",
		"bin/bash":   "",
	} {
		if err := os.MkdirAll(filepath.Join(layer, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(layer, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := &ImageRoot{Ref: "registry.example.org/app:1", Layers: []string{layer}, Config: imagestore.Config{
		User: "app", WorkingDir: "srv", Cmd: []string{"serve"}, Env: []string{"PATH=/opt/bin:/usr/bin", "FOO=img"},
	}}
	mapping := &userns.Mapping{UIDs: userns.Outer(1000, []userns.Range{{Start: 100000, Count: 65536}}), GIDs: userns.Outer(1000, []userns.Range{{Start: 100000, Count: 65536}})}
	o := Options{Root: root, Mapping: mapping, Host: h, Files: t.TempDir()}
	spec, err := NewSpec(Request{Profile: profiles.Defaults(), Project: project}, o)
	if err != nil {
		t.Fatal(err)
	}
	if pr := spec.Process; pr.UID != 1001 || pr.GID != 1002 || pr.Cwd != "/srv" || !slices.Equal(pr.Args, []string{"serve"}) {
		t.Errorf("process = %+v, want the image's user, workdir and command", pr)
	}
	for _, want := range []string{"HOME=/home/app", "USER=app", "SHELL=/bin/bash", "PATH=/opt/bin:/usr/bin", "FOO=img"} {
		if !slices.Contains(spec.Process.Env, want) {
			t.Errorf("env lacks %s:\n%s", want, strings.Join(spec.Process.Env, "\n"))
		}
	}
	if _, err := os.Stat(filepath.Join(h.DataDir, "homes")); err == nil {
		t.Error("an image user got the project's sandbox home")
	}
	// ~ in a mount's target is the image user's home (review 12, F6).
	withTmp := profiles.Defaults()
	withTmp.Mounts = []profiles.Mount{{Target: "~/scratch", Type: "tmpfs"}}
	if spec, err = NewSpec(Request{Profile: withTmp, Project: project}, o); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(spec.Mounts, func(op mounts.Op) bool { return op.Target == "/home/app/scratch" }) {
		t.Errorf("~/scratch did not land in the image user's home: %+v", spec.Mounts)
	}
	spec, err = NewSpec(Request{Profile: profiles.Defaults(), Project: project, Shell: true}, o)
	if err != nil || !slices.Equal(spec.Process.Args, []string{"/bin/bash"}) {
		t.Errorf("shell on an image: args = %v, err = %v, want the user's shell", spec.Process.Args, err)
	}
	self := profiles.Defaults()
	if err := self.Apply(profiles.Overrides{User: "self"}); err != nil {
		t.Fatal(err)
	}
	spec, err = NewSpec(Request{Profile: self, Project: project}, o)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Process.UID != h.UID || !slices.Contains(spec.Process.Env, "HOME="+h.Home) {
		t.Errorf("user = self: process = %+v", spec.Process)
	}
	if _, err := os.Stat(filepath.Join(h.DataDir, "homes", workspace.ID(project))); err != nil {
		t.Errorf("user = self: the persistent home was not created: %v", err)
	}
	o.Mapping = &userns.Mapping{UIDs: userns.Outer(1000, nil), GIDs: userns.Outer(1000, nil), Degraded: "test"}
	var se *sandbox.SetupError
	if _, err := NewSpec(Request{Profile: profiles.Defaults(), Project: project}, o); !errors.As(err, &se) {
		t.Errorf("image user beyond a single-id map: err = %v, want a SetupError", err)
	}
}

// TestImageSelfKeepsOwnGID: on an image with user = "self", the payload's
// own gid is the user's primary group on the host too, also when it is
// not the uid's number (review 12, F1).
func TestImageSelfKeepsOwnGID(t *testing.T) {
	h := testHost(t)
	h.UID, h.GID = 1000, 1234
	root := &ImageRoot{Ref: "registry.example.org/app:1", Layers: []string{t.TempDir()}}
	mapping := &userns.Mapping{UIDs: userns.Outer(1000, []userns.Range{{Start: 100000, Count: 65536}}), GIDs: userns.Outer(1234, []userns.Range{{Start: 200000, Count: 65536}})}
	self := profiles.Defaults()
	if err := self.Apply(profiles.Overrides{User: "self"}); err != nil {
		t.Fatal(err)
	}
	spec, err := NewSpec(Request{Profile: self, Project: t.TempDir()}, Options{Root: root, Mapping: mapping, Host: h, Files: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Process.UID != 1000 || spec.Process.GID != 1234 {
		t.Fatalf("process ids %d:%d, want 1000:1234", spec.Process.UID, spec.Process.GID)
	}
	// The nested map sends the payload's gid to the outer 0, which is the
	// user's gid on the host.
	for _, m := range spec.GIDMap {
		if m.ContainerID <= 1234 && 1234 < m.ContainerID+m.Size && m.HostID+(1234-m.ContainerID) != 0 {
			t.Errorf("gid 1234 maps to outer %d, want 0 (the user's own gid): %+v", m.HostID+(1234-m.ContainerID), spec.GIDMap)
		}
	}
}
