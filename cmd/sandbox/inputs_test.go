package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sandbox/profiles"
)

// TestSetupInputsStayInTheProject: a committed symlink d -> ~/.ssh with
// inputs = ["d/*"] would hash the host's keys into the step key that
// sandbox.lock publishes, a hash oracle (review 13, #10). The build stops
// (125) naming the link, before any step runs, and the lock stays as it
// was.
func TestSetupInputsStayInTheProject(t *testing.T) {
	_, ref := pushBusybox(t)
	p := newProject(t)
	ssh := filepath.Join(p.home, ".ssh")
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ssh, "id_ed25519"), []byte("canary secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ssh, filepath.Join(p.dir, "d")); err != nil {
		t.Fatal(err)
	}
	host := strings.Split(ref, "/")[0]
	p.writeProfile(t, `image = "`+ref+`"
insecure_registries = ["`+host+`"]

[[setup]]
run = "echo built > /built"
inputs = ["d/*"]
`)
	p.output(t, "lock")
	before, err := os.ReadFile(filepath.Join(p.dir, profiles.LockFileName))
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code := p.run(t, "build")
	if code != 125 {
		t.Fatalf("build with an input behind a symlink out of the project: exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{`setup input "d/*": d is a symlink`, "hint: name the files themselves in inputs"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("build's refusal lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "==> setup step") {
		t.Errorf("a step ran:\n%s", errOut)
	}
	after, err := os.ReadFile(filepath.Join(p.dir, profiles.LockFileName))
	if err != nil || string(after) != string(before) {
		t.Errorf("sandbox.lock changed: %v\nbefore:\n%s\nafter:\n%s", err, before, after)
	}
	if b, _ := os.ReadFile(filepath.Join(ssh, "id_ed25519")); string(b) != "canary secret\n" {
		t.Errorf("the canary changed: %q", b)
	}
}
