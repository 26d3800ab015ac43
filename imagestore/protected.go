package imagestore

import (
	"fmt"
	"path"
	"strings"
)

// ProtectedError lists changes apply refuses to write: protected paths
// (git hooks and config, editor tasks, sandbox.toml) and anything with a
// .git component (a new repository, commondir, an index with a planted
// gitlink), where the host's git or editor would run what the sandbox
// wrote. Nothing was applied.
type ProtectedError struct {
	Paths []string `json:"paths"`
}

func (e *ProtectedError) Error() string {
	return fmt.Sprintf("the sandbox changed protected paths, which apply does not write: %s (nothing was applied)", strings.Join(e.Paths, ", "))
}

// Hint says how to apply them deliberately.
func (e *ProtectedError) Hint() string {
	return "review them (sandbox diff --project), copy the ones you want into the project by hand, then sandbox discard; or undo them inside and apply again"
}

// protectedEntries are the entries that are, or lie below, a protected
// pattern or a .git component, sorted as entries are.
func protectedEntries(entries []walked, patterns []string) []string {
	var out []string
	for _, e := range entries {
		if IsProtected(e.rel, patterns) {
			out = append(out, e.rel)
		}
	}
	return out
}

// IsProtected reports whether the project-relative path rel is, or lies
// below, one of patterns (path.Match, relative to the project) or has a
// .git component: what apply refuses and diff --project marks.
func IsProtected(rel string, patterns []string) bool {
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		if part == ".git" {
			return true
		}
		prefix := strings.Join(parts[:i+1], "/")
		for _, pat := range patterns {
			if ok, _ := path.Match(pat, prefix); ok {
				return true
			}
		}
	}
	return false
}
