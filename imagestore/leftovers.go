package imagestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// pullTemporaries are the prefixes of what a pull writes under tmp/: blob
// downloads (blob-*) and layers being unpacked (layer-*).
var pullTemporaries = []string{"blob-", "layer-"}

// sweepPullTemporaries removes what killed pulls left under tmp/, when no
// other pull or prune runs: it takes the gc lock exclusively without
// waiting, and if some other pull holds it, leaves everything to a later
// pull (a running pull's temporaries are not leftovers). Prune removes the
// rest of tmp/ (other commands' temporaries).
func (s *Store) sweepPullTemporaries() error {
	f, err := os.OpenFile(filepath.Join(s.root, locksDir, "gc"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("locking the image store: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil // another pull or a prune is at work
	}
	dir := filepath.Join(s.root, tmpDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !hasAnyPrefix(e.Name(), pullTemporaries) {
			continue
		}
		if err := s.unpacker().RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("removing the leftover %s of an interrupted pull: %w", filepath.Join(dir, e.Name()), err))
		}
	}
	return errors.Join(errs...)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
