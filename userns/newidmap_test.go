package userns

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewMappingDegradesWithoutRanges(t *testing.T) {
	dir := t.TempDir()
	subuid, subgid := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	defer func(u, g string) { SubUIDFile, SubGIDFile = u, g }(SubUIDFile, SubGIDFile)
	SubUIDFile, SubGIDFile = subuid, subgid

	m, err := NewMapping("alice", 1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Degraded, "no range for alice in "+subuid) || Total(m.UIDs) != 1 {
		t.Errorf("without /etc/subuid: %+v, want the single-id mapping with a reason", m)
	}

	os.WriteFile(subuid, []byte("alice:100000:65536\n"), 0o644)
	os.WriteFile(subgid, []byte("alice:100000:65536\n"), 0o644)
	m, err = NewMapping("alice", 1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("newuidmap"); err != nil {
		if !strings.Contains(m.Degraded, "newuidmap not found") {
			t.Errorf("without newuidmap: %+v", m)
		}
		return
	}
	if m.Degraded != "" || Total(m.UIDs) != 65537 || Total(m.GIDs) != 65537 {
		t.Errorf("with ranges: %+v, want 65537 ids and no degradation", m)
	}
}
