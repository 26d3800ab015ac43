package imagestore

import (
	"slices"
	"strings"
	"testing"
)

func TestDiffLayers(t *testing.T) {
	s := openStore(t, Limits{})
	put := func(entries ...entry) string {
		t.Helper()
		d, err := s.putBlob(gzipped(layerTar(t, entries...)))
		if err != nil {
			t.Fatal(err)
		}
		return d.Digest.String()
	}
	a := put(dir("opt/", 0o755), file("opt/same", "x", 0o644), file("opt/stamp", "12:00:01", 0o644), file("opt/mode", "m", 0o644), file("opt/gone", "g", 0o644))
	b := put(dir("opt/", 0o755), file("opt/same", "x", 0o644), file("opt/stamp", "12:00:02", 0o644), file("opt/mode", "m", 0o600), file("opt/new", "n", 0o644))
	diffs, err := s.DiffLayers(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diffs {
		got = append(got, d.Path+": "+d.What)
	}
	want := []string{
		"/opt/gone: only in the first",
		"/opt/mode: mode 0644 in the first, 0600 in the second",
		"/opt/new: only in the second",
		"/opt/stamp: content differs",
	}
	// The content line goes on with both hashes.
	if len(got) != len(want) || !slices.Equal(got[:3], want[:3]) || !strings.HasPrefix(got[3], want[3]+" (sha256 ") {
		t.Errorf("DiffLayers =\n%q\nwant\n%q", got, want)
	}
	if diffs, err := s.DiffLayers(a, a); err != nil || len(diffs) != 0 {
		t.Errorf("DiffLayers(a, a) = %v, %v; want nothing", diffs, err)
	}
	if !s.HasBlob(a) || s.HasBlob("sha256:0000000000000000000000000000000000000000000000000000000000000000") || s.HasBlob("../../etc") {
		t.Errorf("HasBlob: a stored blob is not found, or a missing or malformed one is")
	}
}
