package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sandbox/internal/testenv"
	"sandbox/profiles"
)

// setupProfile is a profile on ref with two steps, the second reading an
// input file of the project.
func setupProfile(ref, second string) string {
	host := strings.Split(ref, "/")[0]
	return `image = "` + ref + `"
insecure_registries = ["` + host + `"]

[[setup]]
run = "mkdir -p /opt && echo one > /opt/one && id -u"

[[setup]]
run = "` + second + `"
inputs = ["deps.txt"]
`
}

func TestSetupStepsAreCachedAndRebuilt(t *testing.T) {
	_, ref := pushBusybox(t)
	p := newProject(t)
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sandbox.toml", setupProfile(ref, "cat $PWD/deps.txt > /opt/deps"))
	write("deps.txt", "v1\n")
	// run builds what is missing first; the steps' output streams.
	out, errOut, code := p.run(t, "run", "--", "cat", "/opt/one", "/opt/deps")
	if code != 0 || out != "0\none\nv1\n" {
		t.Fatalf("first run: code %d, stdout %q, stderr %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "==> setup step 1/2: mkdir") || !strings.Contains(errOut, "==> setup step 2/2: cat") {
		t.Errorf("no step headers on stderr: %s", errOut)
	}
	// Nothing changed: both cached.
	_, errOut, _ = p.run(t, "build")
	if strings.Count(errOut, "(cached)") != 2 {
		t.Errorf("second build did not use the cache:\n%s", errOut)
	}
	// A changed input rebuilds its step, not the one before.
	write("deps.txt", "v2\n")
	_, errOut, _ = p.run(t, "build")
	if !strings.Contains(errOut, "step 1/2 (cached)") || strings.Contains(errOut, "step 2/2 (cached)") {
		t.Errorf("after changing deps.txt:\n%s", errOut)
	}
	if out := p.output(t, "run", "--", "cat", "/opt/deps"); out != "v2\n" {
		t.Errorf("a clean sandbox should move to the rebuilt steps: %q", out)
	}
	// A failing step: its status, its line, the cache before it intact.
	write("sandbox.toml", setupProfile(ref, "echo failing; exit 3"))
	out, errOut, code = p.run(t, "build")
	if code != 3 || !regexp.MustCompile(`setup step 2/2 \(.*sandbox.toml:8\) failed with exit status 3`).MatchString(errOut) {
		t.Errorf("failing step: code %d, stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "step 1/2 (cached)") || !strings.Contains(out+errOut, "failing") {
		t.Errorf("failing step: the step before was not cached or the output was lost:\n%s%s", out, errOut)
	}
	// sandbox.lock records the steps' layers.
	write("sandbox.toml", setupProfile(ref, "cat $PWD/deps.txt > /opt/deps"))
	p.output(t, "lock")
	p.output(t, "build")
	lock, err := profiles.ReadLock(p.dir)
	if err != nil || lock == nil || len(lock.Steps) != 2 || !strings.HasPrefix(lock.Steps[1].Layer, "sha256:") {
		t.Errorf("sandbox.lock steps = %+v, %v", lock, err)
	}
}

// TestSetupIsReproducible builds the same profile in two fresh stores and
// compares the steps' layer digests.
func TestSetupIsReproducible(t *testing.T) {
	_, ref := pushBusybox(t)
	var layers [][]profiles.LockedStep
	for range 2 {
		p := newProject(t)
		os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(setupProfile(ref, "cp $PWD/deps.txt /opt/deps && mkdir /opt/d && touch /opt/d/f && chmod 600 /opt/d/f")), 0o644)
		os.WriteFile(filepath.Join(p.dir, "deps.txt"), []byte("same\n"), 0o644)
		p.output(t, "lock")
		p.output(t, "build")
		lock, err := profiles.ReadLock(p.dir)
		if err != nil || lock == nil || len(lock.Steps) != 2 {
			t.Fatalf("lock: %+v %v", lock, err)
		}
		layers = append(layers, lock.Steps)
	}
	for i := range layers[0] {
		if layers[0][i].Layer != layers[1][i].Layer {
			t.Errorf("step %d built twice gave layers %s and %s", i+1, layers[0][i].Layer, layers[1][i].Layer)
		}
	}
}

// A step runs on the profile's network (none here: only lo) unless it
// sets its own.
func TestSetupStepNetwork(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.IsolatedNet, testenv.Tool("pasta"))
	_, ref := pushBusybox(t)
	host := strings.Split(ref, "/")[0]
	profile := `image = "` + ref + `"
insecure_registries = ["` + host + `"]

[[setup]]
run = "ls /sys/class/net > /opt-profile-net"

[[setup]]
run = "ls /sys/class/net > /opt-step-net"
network = "slirp"
`
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := p.run(t, "run", "--", "cat", "/opt-profile-net", "/opt-step-net")
	if code != 0 {
		t.Fatalf("run: code %d, stderr %s", code, errOut)
	}
	nets := strings.Fields(out)
	if len(nets) < 2 || nets[0] != "lo" || nets[1] == "lo" && len(nets) == 2 {
		t.Errorf("interfaces seen by the steps: %q; want only lo for the first, more for the second", out)
	}
}
