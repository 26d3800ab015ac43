package confine

import (
	"strings"
	"testing"

	"sandbox/internal/reexec"
)

// TestEnvironDropsOurVariables: a profile's [env] (untrusted: it comes
// with a cloned repository) or an -e that names _SANDBOX_PAYLOAD must not
// hand the payload stage a policy of its own, since the stage reads
// the first occurrence of a name.
func TestEnvironDropsOurVariables(t *testing.T) {
	env, err := Environ(Policy{Path: "/bin/true"}, []string{
		"PATH=/bin", "_SANDBOX_PAYLOAD={\"path\":\"/bin/sh\"}", "_SANDBOX_INIT=watchdog", "_SANDBOX_OTHER=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "_SANDBOX_") {
			ours = append(ours, kv)
		}
	}
	want := []string{reexec.Environ(role), policyEnv + `={"path":"/bin/true"}`}
	if strings.Join(ours, "\n") != strings.Join(want, "\n") {
		t.Errorf("Environ gives the stage %q, want only %q", ours, want)
	}
}
