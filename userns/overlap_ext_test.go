package userns_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sandbox/internal/testenv"
	"sandbox/userns"
)

// TestNewMappingRefusesOverlappingRanges: a map newuidmap would fail on
// with "Invalid argument" is an error naming the overlap (issue 11).
func TestNewMappingRefusesOverlappingRanges(t *testing.T) {
	testenv.Require(t, testenv.Tool("newuidmap"), testenv.Tool("newgidmap"))
	dir := t.TempDir()
	subuid, subgid := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	defer func(u, g string) { userns.SubUIDFile, userns.SubGIDFile = u, g }(userns.SubUIDFile, userns.SubGIDFile)
	userns.SubUIDFile, userns.SubGIDFile = subuid, subgid
	os.WriteFile(subuid, []byte("alice:100000:65536\nalice:120000:100\n"), 0o644)
	os.WriteFile(subgid, []byte("alice:100000:65536\n"), 0o644)
	_, err := userns.NewMapping("alice", 1000, 1000)
	var oe *userns.OverlapError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "100000-165535 and 120000-120099 overlap") || !strings.Contains(oe.Hint(), subuid) {
		t.Errorf("NewMapping with overlapping ranges = %v, want an *userns.OverlapError naming them", err)
	}
}
