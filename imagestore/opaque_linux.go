package imagestore

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// goneUnderOpaque lists, as deletions, what the lowers hold directly in
// the directory rel that upper made opaque (removed and made again) and
// does not hold itself: overlayfs hides those entries, so they are gone
// from the sandbox just as a whiteout's are.
func goneUnderOpaque(upper string, lowers []string, rel string) []Change {
	var out []Change
	for _, name := range lowerNames(lowers, rel) {
		if _, err := os.Lstat(filepath.Join(upper, rel, name)); err == nil {
			continue
		}
		out = append(out, Change{Kind: "D", Path: "/" + path.Join(rel, name)})
	}
	return out
}

// lowerNames lists the entries of directory rel in the stacked lowers
// (top first), honouring their whiteouts and opaque directories.
func lowerNames(lowers []string, rel string) []string {
	seen := map[string]bool{}
	var names []string
	for _, l := range lowers {
		dir := filepath.Join(l, rel)
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			break // a file or whiteout at rel hides the layers below
		}
		for _, e := range entries {
			if seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			if !isWhiteout(filepath.Join(dir, e.Name())) {
				names = append(names, e.Name())
			}
		}
		if err == nil && opaque(dir) || hiddenBelow(l, rel) {
			break
		}
	}
	sort.Strings(names)
	return names
}

// hiddenBelow reports whether layer l makes a parent of rel opaque or a
// whiteout, hiding rel in the layers below it.
func hiddenBelow(l, rel string) bool {
	if isWhiteout(filepath.Join(l, rel)) {
		return true
	}
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		if opaque(filepath.Join(l, d)) || isWhiteout(filepath.Join(l, d)) {
			return true
		}
	}
	return false
}

// pathLess orders paths as a directory walk does: component by component.
func pathLess(a, b string) bool {
	return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/")) < 0
}
