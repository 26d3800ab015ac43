package workspace

import (
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/mounts"
	"sandbox/profiles"
)

// ProtectOps makes the project's protected paths read-only inside: the
// places git and editors on the host run code from (profiles.
// DefaultProtected, the repository's core.hooksPath) and the profile's
// own protect.paths. Each directory between the project root and a
// protected path is pinned (bound onto itself), so that the sandbox cannot
// move .git aside and put a writable copy in its place. The profile's
// binds of project paths (binds) show the project a second time: the same
// paths are made read-only below their targets too (protectBinds). The
// profile file the run was loaded from (profileFile), when it lies in the
// project, is protected like sandbox.toml: `-f dev.toml` must not let the
// sandbox write its next run's profile.
func ProtectOps(p *profiles.Profile, project string, binds mounts.Plan, profileFile string) mounts.Plan {
	if p.Protect.Defaults {
		ensureGitDirs(project)
	}
	patterns := ProtectedPatterns(p, project)
	if rel, err := filepath.Rel(project, profileFile); profileFile != "" && err == nil && filepath.IsLocal(rel) {
		patterns = append(patterns, globEscape(rel))
	}
	ro := map[string]bool{}
	pins := map[string]bool{}
	for _, pat := range patterns {
		matches, _ := filepath.Glob(filepath.Join(globEscape(project), pat))
		for _, m := range matches {
			ro[m] = true
			for d := filepath.Dir(m); len(d) > len(project) && within(project, d); d = filepath.Dir(d) {
				pins[d] = true
			}
		}
	}
	protectBinds(project, binds, ro, pins)
	var plan mounts.Plan
	for _, d := range sortedKeys(pins) {
		if !ro[d] {
			plan = append(plan, mounts.Op{Kind: mounts.Pin, Target: d})
		}
	}
	for _, m := range sortedKeys(ro) {
		plan = append(plan, mounts.Op{Kind: mounts.RO, Target: m})
	}
	return plan
}

// ProtectedPatterns are the project's protected paths as path.Match
// patterns relative to the project: the defaults with what the
// repository's git metadata names at start (gitProtected), and the
// profile's protect.paths.
func ProtectedPatterns(p *profiles.Profile, project string) []string {
	var patterns []string
	if p.Protect.Defaults {
		patterns = append(patterns, profiles.DefaultProtected...)
		for _, rel := range gitProtected(project) {
			patterns = append(patterns, globEscape(rel))
		}
	}
	return append(patterns, p.Protect.Paths...)
}

// protectBinds maps the protected paths ro (and their pins) into every
// bind of a project path: [[mount]] source = ".git" or "." shows .git/hooks
// again at its target, and a writable copy there would write the host's.
// A bind whose source lies in a protected path is made read-only. It adds
// to ro and pins.
func protectBinds(project string, binds mounts.Plan, ro, pins map[string]bool) {
	for i, b := range binds {
		if b.Kind != mounts.Bind || b.Beneath == "" {
			continue
		}
		for _, m := range sortedKeys(ro) {
			if within(m, b.Source) || m == b.Source {
				binds[i].ReadOnly = true
				continue
			}
			if !within(b.Source, m) || !within(project, m) {
				continue
			}
			rel, _ := filepath.Rel(b.Source, m)
			ro[filepath.Join(b.Target, rel)] = true
			for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
				pins[filepath.Join(b.Target, d)] = true
			}
		}
	}
}

// ensureGitDirs creates .git/hooks and .git/info when .git is a directory
// without them (git init makes both): a protected path must exist to be
// mounted read-only, and a missing one the sandbox could create.
func ensureGitDirs(project string) {
	dir, err := unix.Open(project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(dir)
	git, err := unix.Openat(dir, ".git", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(git)
	for _, name := range []string{"hooks", "info"} {
		unix.Mkdirat(git, name, 0o755)
	}
}

func escapesRel(rel string) bool { return rel == ".." || strings.HasPrefix(rel, "../") }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// globEscape quotes the glob metacharacters of a literal path.
func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
