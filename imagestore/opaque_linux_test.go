package imagestore

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// TestChangesListsWhatAnOpaqueDirectoryHides is `rm -rf /var/www; mkdir
// /var/www; echo n > /var/www/new` over two layers: every lower entry of
// /var/www that is gone is a deletion (issue 11).
func TestChangesListsWhatAnOpaqueDirectoryHides(t *testing.T) {
	root := t.TempDir()
	top, bottom, upper := filepath.Join(root, "top"), filepath.Join(root, "bottom"), filepath.Join(root, "upper")
	for _, f := range []string{"bottom/var/www/index.html", "bottom/var/www/old/f", "bottom/var/www/was-removed",
		"bottom/var/www-other/x", "top/var/www/added-later", "upper/var/www/new", "upper/var/www/index.html"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The top layer already deleted one file of the bottom one.
	if err := unix.Mknod(filepath.Join(top, "var/www/was-removed"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(upper, "var/www"), OpaqueXattr, []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	got, err := Changes(upper, []string{top, bottom}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Kind: "C", Path: "/var"}, {Kind: "C", Path: "/var/www"},
		{Kind: "D", Path: "/var/www/added-later"},
		{Kind: "C", Path: "/var/www/index.html"},
		{Kind: "A", Path: "/var/www/new"},
		{Kind: "D", Path: "/var/www/old"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Changes = %v\nwant %v", got, want)
	}
}
