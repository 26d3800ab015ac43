package imagestore

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// applyTempPrefix names the temporary files Apply writes beside each file
// before renaming it into place. An apply killed midway leaves them.
const applyTempPrefix = ".sandbox-apply-"

// ApplyLeftovers lists the temporary files an interrupted Apply left in
// the project (paths relative to it), and removes them if remove is set.
// Apply writes them only into the project directories that upper holds,
// so only those are looked at; a directory that cannot be read or opened
// without a symlink is passed over. The upper layer stays until an apply
// succeeds, so the directories to look at are still known after a crash.
func ApplyLeftovers(upper, project string, remove bool) ([]string, error) {
	root, err := unix.Open(project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: project, Err: err}
	}
	defer unix.Close(root)
	var found []string
	var firstErr error
	filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(upper, p)
		dir, err := openBeneath(root, rel)
		if err != nil {
			return fs.SkipDir // not in the project (yet), or behind a symlink
		}
		defer unix.Close(dir)
		entries, _ := os.ReadDir(fdPath(dir))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), applyTempPrefix) || e.IsDir() {
				continue
			}
			found = append(found, filepath.Join(rel, e.Name()))
			if remove {
				if err := unix.Unlinkat(dir, e.Name(), 0); err != nil && firstErr == nil {
					firstErr = &os.PathError{Op: "remove", Path: filepath.Join(project, rel, e.Name()), Err: err}
				}
			}
		}
		return nil
	})
	return found, firstErr
}
