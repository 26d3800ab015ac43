package imagestore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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
	if err := writeRecord(dir, diffID, rec, nil); err != nil {
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
	os.Remove(filepath.Join(dir, "etc/new"))
	// An attribute a rootless overlay obeys, added after the unpack: a
	// redirect would send lookups elsewhere in the lower layers.
	if err := unix.Lsetxattr(filepath.Join(dir, "etc"), "user.overlay.redirect", []byte("/elsewhere"), 0); err != nil {
		t.Fatal(err)
	}
	if p := check(false); len(p) != 1 || !strings.Contains(p[0], "etc: extended attributes differ") {
		t.Errorf("Verify of a directory given user.overlay.redirect = %v", p)
	}
	var r LayerRecord
	data, _ := os.ReadFile(rec)
	json.Unmarshal(data, &r)
	r.Version = 1 // a record from before attributes vouches for the rest
	data, _ = json.Marshal(r)
	os.WriteFile(rec, data, 0o600)
	if p := check(false); len(p) != 0 {
		t.Errorf("Verify against a version 1 record = %v, want nothing", p)
	}
	r.Version = recordVersion + 1
	data, _ = json.Marshal(r)
	os.WriteFile(rec, data, 0o600)
	if p := check(false); len(p) != 1 || !strings.Contains(p[0], "unknown version") {
		t.Errorf("Verify against a record of an unknown version = %v", p)
	}
}

// TestRecordSumsFromUnpack: the record an unpack writes, whose content
// hashes come from what the unpack wrote rather than from reading the
// layer again, equals the record of the tree read back from disk: also
// for a streamed large file, a file replaced by a later entry, and
// hardlinks (one to a name replaced afterwards, which keeps the old
// content).
func TestRecordSumsFromUnpack(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", (smallFile/16)+1000)
	raw := layerTar(t,
		dir("etc/", 0o755),
		file("etc/conf", "a=1\n", 0o644),
		file("etc/big", big, 0o600),
		hardlink("etc/old", "etc/conf"),
		file("etc/conf", "a=2, longer\n", 0o640),
		hardlink("etc/new", "etc/conf"),
		hardlink("etc/big2", "etc/big"),
		symlink("etc/link", "conf"),
		file("empty", "", 0o644),
	)
	blob := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(blob, gzipped(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "layer")
	rec := filepath.Join(t.TempDir(), "rec.json")
	diffID := "sha256:" + hexSum(raw)
	if _, err := UnpackFile(UnpackRequest{Blob: blob, Dest: dest, DiffID: diffID, Record: rec}); err != nil {
		t.Fatal(err)
	}
	var got LayerRecord
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want, err := recordTree(dest, diffID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != len(want.Entries) {
		t.Fatalf("record has %d entries, the tree %d", len(got.Entries), len(want.Entries))
	}
	hashed := 0
	for i := range want.Entries {
		if !reflect.DeepEqual(got.Entries[i], want.Entries[i]) {
			t.Errorf("record entry %+v, read back from disk %+v", got.Entries[i], want.Entries[i])
		}
		if want.Entries[i].SHA256 != "" {
			hashed++
		}
	}
	if hashed != 6 {
		t.Errorf("%d entries with a content hash, want 6 (every regular file)", hashed)
	}
	// The sums are taken as given, not read from disk again.
	sums := &contentSums{m: map[string]string{"etc/conf": "feed"}}
	r, err := recordTree(dest, diffID, sums)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Entries {
		if e.Path == "etc/conf" && e.SHA256 != "feed" {
			t.Errorf("etc/conf recorded with %q, want the unpack's sum", e.SHA256)
		}
	}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
