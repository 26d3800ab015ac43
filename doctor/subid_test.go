package doctor

import (
	"os"
	"path/filepath"
	"sandbox/host"
	"strings"
	"testing"
)

// TestDoctorNamesOverlappingSubIDs: doctor fails for ranges the kernel
// would refuse and warns for ranges shared with another user, naming the
// overlap (issue 11).
func TestDoctorNamesOverlappingSubIDs(t *testing.T) {
	h := host.Host{Name: "alice", UID: 1000, GID: 1000}
	tests := []struct{ file, status, detail string }{
		{"alice:100000:65536\n", "ok", "65536 ids"},
		{"alice:100000:65536\nbob:165000:65536\n", "warn", "your range 100000-165535 overlaps 165000-230535 of bob"},
		{"alice:100000:65536\nalice:100:1000\n", "fail", "your range 100-1099 holds your own id 1000"},
	}
	for _, tt := range tests {
		file := filepath.Join(t.TempDir(), "subuid")
		if err := os.WriteFile(file, []byte(tt.file), 0o644); err != nil {
			t.Fatal(err)
		}
		c := checkSubIDs("subuid", file, h, "--add-subuids")
		if c.Status != tt.status || !strings.Contains(c.Detail, tt.detail) {
			t.Errorf("checkSubIDs(%q) = %+v, want %s with %q", tt.file, c, tt.status, tt.detail)
		}
	}
}
