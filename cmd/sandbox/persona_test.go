package main

import (
	"os/exec"
	"strings"
	"testing"

	"sandbox/internal/testenv"
)

// A user who runs sandbox with ASLR off (setarch -R) does not hand that
// to the payload, which the filter forbids to turn it off itself: on the
// single-id map (self) and on the range (root, whose init once cleared it
// by executing itself again).
func TestPersonaFlagsDoNotReachThePayload(t *testing.T) {
	testenv.Require(t, testenv.Tool("setarch"), testenv.NewIDMap)
	p := newProject(t)
	self, err := exec.LookPath("sandbox")
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"self", "root"} {
		cmd := p.command("run", "--user", user, "--", "cat", "/proc/self/personality")
		cmd.Args = append([]string{"setarch", "-R", self}, cmd.Args[1:]...)
		cmd.Path, _ = exec.LookPath("setarch")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("setarch -R sandbox run --user %s: %v\n%s", user, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "00000000" {
			t.Errorf("user %s: the payload's persona is %s, want 00000000 (ADDR_NO_RANDOMIZE cleared)", user, got)
		}
	}
}
