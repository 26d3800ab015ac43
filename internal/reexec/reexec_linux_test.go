package reexec

import "testing"

// An empty role variable is the CLI, as an unset one is (review 12, F3):
// `_SANDBOX_INIT= sandbox version` must not die as an unknown role.
func TestEmptyRoleIsTheCLI(t *testing.T) {
	t.Setenv(Env, "")
	if Init() {
		t.Fatal("Init ran a role for an empty variable")
	}
}
