package imagestore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordVerify: a recorded tree verifies; a changed file, a new file
// and a record of an unknown version are each reported.
func TestRecordVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layer")
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/conf"), []byte("a=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("conf", filepath.Join(dir, "etc/link")); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(t.TempDir(), "rec.json")
	diffID := "sha256:" + strings.Repeat("0", 64)
	if err := writeRecord(dir, diffID, rec); err != nil {
		t.Fatal(err)
	}
	check := func(full bool) []string {
		t.Helper()
		res, err := Verify(VerifyRequest{Dir: dir, Record: rec, Full: full})
		if err != nil {
			t.Fatal(err)
		}
		return res.Problems
	}
	if p := check(true); len(p) != 0 {
		t.Fatalf("Verify of an unchanged tree = %v, want nothing", p)
	}
	fi, _ := os.Stat(filepath.Join(dir, "etc/conf"))
	os.WriteFile(filepath.Join(dir, "etc/conf"), []byte("a=2\n"), 0o644)
	os.Chtimes(filepath.Join(dir, "etc/conf"), fi.ModTime(), fi.ModTime())
	if p := check(false); len(p) != 0 {
		t.Errorf("Verify without Full of a change that kept size and mtime = %v, want nothing (no hashing)", p)
	}
	if p := check(true); len(p) != 1 || !strings.Contains(p[0], "etc/conf: content differs") {
		t.Errorf("Verify with Full of a changed etc/conf = %v", p)
	}
	os.WriteFile(filepath.Join(dir, "etc/new"), nil, 0o644)
	if p := check(false); len(p) != 1 || p[0] != "etc/new: not in the layer" {
		t.Errorf("Verify of a tree with a new file = %v", p)
	}
	if res, err := Verify(VerifyRequest{Dir: dir, Record: rec + ".missing"}); err != nil || !res.Unrecorded || len(res.Problems) != 0 {
		t.Errorf("Verify without a record = %+v, %v; want Unrecorded and no problems", res, err)
	}
	var r LayerRecord
	data, _ := os.ReadFile(rec)
	json.Unmarshal(data, &r)
	r.Version = recordVersion + 1
	data, _ = json.Marshal(r)
	os.WriteFile(rec, data, 0o600)
	if p := check(false); len(p) != 1 || !strings.Contains(p[0], "unknown version") {
		t.Errorf("Verify against a record of an unknown version = %v", p)
	}
}
