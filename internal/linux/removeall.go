package linux

import (
	"io/fs"
	"os"
	"path/filepath"
)

// RemoveAll removes a tree the caller owns, making its read-only
// directories writable first if it has to (an unpacked image layer, a
// run's scratch tree).
func RemoveAll(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}
