package imagestore

import (
	"os"
	"testing"
)

// TestAddUseKeepsACurrentRecord: recording a use that the store already
// has leaves its record alone (every image run records one, and the
// durable rewrite cost ~2 ms: issue 18); a use that changed is written.
func TestAddUseKeepsACurrentRecord(t *testing.T) {
	s := openStore(t, Limits{})
	u := Use{ID: "proj-0123456789ab", Project: "/src/proj", Digest: "sha256:aa"}
	if err := s.AddUse(u); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(s.usePath(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUse(u); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(s.usePath(u.ID))
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("the same use was written again (a new file replaced the record): %v", err)
	}
	u.Digest = "sha256:bb"
	if err := s.AddUse(u); err != nil {
		t.Fatal(err)
	}
	uses, err := s.Uses()
	if err != nil || len(uses) != 1 || uses[0] != u {
		t.Errorf("after a changed use, Uses() = %+v, %v; want [%+v]", uses, err, u)
	}
}
