package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sandbox/imagestore"
	"sandbox/network"
	"sandbox/profiles"
)

// TestStepKeyCoversItsInputs changes one thing a step layer depends on at
// a time: each must change the key, and what the layer does not depend
// on (the project's path, the host's environment) must not.
func TestStepKeyCoversItsInputs(t *testing.T) {
	h := testHost(t)
	newInput := func() keyCase {
		project := t.TempDir()
		if err := os.WriteFile(filepath.Join(project, "deps.txt"), []byte("v1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := profiles.Defaults()
		p.Image = "registry.example.org/base:1"
		st := profiles.Step{Run: "make deps", Inputs: []string{"deps.txt"}, Env: map[string]string{"A": "1"}}
		p.Setup = []profiles.Step{st}
		return keyCase{p: p, st: st, in: stepKeyInput{parent: "sha256:11", epoch: time.Unix(1700000000, 0), host: h, project: project}}
	}
	key := func(c keyCase) string {
		t.Helper()
		c.in.step, c.in.profile = c.st, stepProfile(c.p, c.st)
		k, err := stepKey(c.in)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key(newInput())
	tests := []struct {
		name   string
		change func(c *keyCase)
		same   bool
	}{
		{"nothing", func(c *keyCase) {}, true},
		{"another project path, same inputs", func(c *keyCase) {}, true}, // newInput makes a fresh TempDir
		{"host environment", func(c *keyCase) { c.in.host.Environ = append(c.in.host.Environ, "TZ=Asia/Tokyo") }, true},
		{"network backend", func(c *keyCase) { c.p.Network.Backend = "pasta" }, true},
		{"network mode (a step keeps the profiles)", func(c *keyCase) { c.p.Network.Mode = network.Slirp }, false},
		{"parent", func(c *keyCase) { c.in.parent = "sha256:22" }, false},
		{"command", func(c *keyCase) { c.st.Run = "make deps2" }, false},
		{"user", func(c *keyCase) { c.st.User = "self" }, false},
		{"step env", func(c *keyCase) { c.st.Env = map[string]string{"A": "2"} }, false},
		{"profile env", func(c *keyCase) { c.p.Env = map[string]string{"B": "1"} }, false},
		{"input content", func(c *keyCase) { os.WriteFile(filepath.Join(c.in.project, "deps.txt"), []byte("v2\n"), 0o644) }, false},
		{"clamp time (SOURCE_DATE_EPOCH)", func(c *keyCase) { c.in.epoch = time.Unix(1700000001, 0) }, false},
		{"network mode", func(c *keyCase) { c.p.Network.Mode = network.Proxy }, false},
		{"proxy allowlist", func(c *keyCase) { c.p.Network.Allow = []string{"pkg.example.org"} }, false},
		{"extra hosts", func(c *keyCase) { c.p.Network.Hosts = map[string]string{"pkg.test": "127.0.0.2"} }, false},
		{"mount", func(c *keyCase) {
			c.p.Mounts = append(c.p.Mounts, profiles.Mount{Source: "~/.cache/pkg", Target: "/cache", Mode: "ro"})
		}, false},
		{"hostname", func(c *keyCase) { c.p.Hostname = "build" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newInput()
			tt.change(&c)
			got := key(c)
			if (got == base) != tt.same {
				t.Errorf("key after %s = %s, before %s; want same: %v", tt.name, got, base, tt.same)
			}
		})
	}
}

// TestStepKeySelfIsPerUser: a "self" step's files belong to the user's
// uid, so two users get two keys; a root step's key is shared.
func TestStepKeySelfIsPerUser(t *testing.T) {
	project := t.TempDir()
	for _, user := range []profiles.UserMode{"root", "self"} {
		st := profiles.Step{Run: "id -u > /tmp/id", User: user}
		var keys []string
		for _, uid := range []int{1000, 1001} {
			h := testHost(t)
			h.UID = uid
			k, err := stepKey(stepKeyInput{parent: "sha256:11", step: st, profile: stepProfile(profiles.Defaults(), st), host: h, project: project})
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		if (keys[0] == keys[1]) != (user == "root") {
			t.Errorf("user %s: keys for uid 1000 and 1001 equal = %v", user, keys[0] == keys[1])
		}
	}
}

func TestClampTime(t *testing.T) {
	created := time.Unix(1600000000, 0)
	for _, tt := range []struct {
		sde     string
		want    time.Time
		wantErr bool
	}{
		{"", created, false},
		{"1700000000", time.Unix(1700000000, 0), false},
		{"yesterday", time.Time{}, true},
		{"-5", time.Time{}, true},
	} {
		t.Setenv("SOURCE_DATE_EPOCH", tt.sde)
		got, err := clampTime(&imagestore.Image{Created: created})
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("clampTime with SOURCE_DATE_EPOCH=%q = %v, %v; want %v (error: %v)", tt.sde, got, err, tt.want, tt.wantErr)
		}
	}
}

type keyCase struct {
	p  *profiles.Profile
	st profiles.Step
	in stepKeyInput
}

// TestInputsDoNotFollowSymlinks: an input that is a symlink, lies behind
// one or holds one is an error naming the link (review 13, #10); the
// host file the link points to is never hashed.
func TestInputsDoNotFollowSymlinks(t *testing.T) {
	secret := t.TempDir()
	if err := os.WriteFile(filepath.Join(secret, "id"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, input, link string
	}{
		{"behind a linked directory", "d/*", "d"},
		{"a linked directory", "d", "d"},
		{"a linked file", "key", "key"},
		{"in a directory input", "src", "src/key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := t.TempDir()
			os.Mkdir(filepath.Join(project, "src"), 0o755)
			os.WriteFile(filepath.Join(project, "src", "a.txt"), []byte("a\n"), 0o644)
			for _, l := range [][2]string{{secret, "d"}, {filepath.Join(secret, "id"), "key"}, {filepath.Join(secret, "id"), "src/key"}} {
				if err := os.Symlink(l[0], filepath.Join(project, l[1])); err != nil {
					t.Fatal(err)
				}
			}
			files, err := inputFiles(project, []string{tt.input})
			if err == nil || !strings.Contains(err.Error(), tt.link+" is a symlink") {
				t.Fatalf("inputFiles(%q) = %v, %v; want an error naming %s", tt.input, files, err, tt.link)
			}
		})
	}
	// Plain files and directories still count, and a file replaced by a
	// link after the glob is refused when it is read.
	project := t.TempDir()
	os.MkdirAll(filepath.Join(project, "src", "sub"), 0o755)
	os.WriteFile(filepath.Join(project, "src", "sub", "a.txt"), []byte("a\n"), 0o644)
	files, err := inputFiles(project, []string{"src"})
	if err != nil || len(files) != 1 || files[0] != "src/sub/a.txt" {
		t.Fatalf("inputFiles(src) = %v, %v", files, err)
	}
	os.Remove(filepath.Join(project, "src", "sub", "a.txt"))
	os.Symlink(filepath.Join(secret, "id"), filepath.Join(project, "src", "sub", "a.txt"))
	dir, _ := os.Open(project)
	defer dir.Close()
	if sum, err := inputSHA256(int(dir.Fd()), project, "src/sub/a.txt"); err == nil {
		t.Errorf("inputSHA256 followed a swapped-in link: %s", sum)
	}
}
