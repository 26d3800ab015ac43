package imagestore

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/internal/testenv"
)

// TestTmpSpreadsLayers: the directory layers are unpacked in is marked
// for Orlov's spreading (chattr +T), so that a layer is not allocated
// among the inodes a deleted tree just freed (see spreadLayers).
func TestTmpSpreadsLayers(t *testing.T) {
	root := t.TempDir()
	testenv.Require(t, testenv.InodeFlags(root))
	s, err := Open(filepath.Join(root, "store"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(filepath.Join(s.Root(), tmpDir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatal(err)
	}
	if flags&fsTopdirFL == 0 {
		t.Errorf("flags of %s = %#x, want FS_TOPDIR_FL (%#x) set", tmpDir, flags, fsTopdirFL)
	}
	// Opening again keeps it (and does not fail on it).
	if _, err := Open(s.Root(), Options{}); err != nil {
		t.Fatal(err)
	}
}
