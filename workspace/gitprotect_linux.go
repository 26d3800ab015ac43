package workspace

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// gitDirFiles are the entries of a git dir that git runs code from or
// that redirect it elsewhere: hooks, config (core.fsmonitor, aliases,
// drivers), info/attributes, and commondir, which moves config and hooks
// to another directory.
var gitDirFiles = []string{"hooks", "config", "config.worktree", "info", "commondir"}

// gitProtected returns project paths (relative) that the repository's git
// metadata, as it stands at start, makes places git runs code from beyond
// profiles.DefaultProtected: a .git that is a file (a worktree's or
// submodule's gitfile) and the git dir it names in the project; the git
// dirs of submodules at any depth under .git/modules (libs/foo, a/modules/b);
// linked worktrees' commondir and gitdir; and core.hooksPath and
// include.path/includeIf targets in the worktree, read from .git/config and
// the files it includes. What appears after start is not found here: the
// guide's "Protected paths" says what bind mode cannot stop.
func gitProtected(project string) []string {
	fi, err := os.Lstat(filepath.Join(project, ".git"))
	if err != nil {
		return nil
	}
	var out []string
	gitDir := filepath.Join(project, ".git")
	if fi.Mode().IsRegular() {
		out = append(out, ".git")
		gitDir = gitfileDir(project, filepath.Join(project, ".git"))
		if gitDir == "" {
			return out
		}
		for _, name := range gitDirFiles {
			out = appendRel(out, project, filepath.Join(gitDir, name))
		}
	}
	out = append(out, submoduleGitDirs(project, filepath.Join(gitDir, "modules"))...)
	if wts, err := filepath.Glob(filepath.Join(globEscape(gitDir), "worktrees", "*")); err == nil {
		for _, wt := range wts {
			out = appendRel(out, project, filepath.Join(wt, "commondir"))
			out = appendRel(out, project, filepath.Join(wt, "gitdir"))
		}
	}
	seen := map[string]bool{}
	return append(out, configRefs(project, filepath.Join(gitDir, "config"), seen, 0)...)
}

// gitfileDir is the git dir a gitfile ("gitdir: DIR") names, when it lies
// in the project; "" otherwise (outside, the sandbox does not see it).
func gitfileDir(project, file string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	dir, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
	if !ok {
		return ""
	}
	dir = strings.TrimSpace(dir)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(file), dir)
	}
	if !within(project, dir) {
		return ""
	}
	return filepath.Clean(dir)
}

// submoduleGitDirs walks .git/modules (without following symlinks) for
// every git dir in it, at any depth, and returns their gitDirFiles. It
// creates a missing hooks directory, as ensureGitDirs does for .git.
func submoduleGitDirs(project, modules string) []string {
	var out []string
	filepath.WalkDir(modules, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		switch d.Name() {
		case "objects", "refs", "logs", "hooks", "info", "lfs":
			return filepath.SkipDir
		}
		if _, err := os.Lstat(filepath.Join(p, "HEAD")); err != nil {
			return nil
		}
		os.Mkdir(filepath.Join(p, "hooks"), 0o755)
		for _, name := range gitDirFiles {
			out = appendRel(out, project, filepath.Join(p, name))
		}
		return nil
	})
	return out
}

// configRefs reads a git config file for core.hooksPath (relative to the
// worktree) and include.path/includeIf.*.path (relative to the file) that
// name paths in the project, and follows those includes. A plain reading:
// a section spelled unusually is missed, and protect.paths can name the
// path instead.
func configRefs(project, file string, seen map[string]bool, depth int) []string {
	if depth > 8 || seen[file] {
		return nil
	}
	seen[file] = true
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.ToLower(strings.Trim(strings.Fields(line + " ")[0], "[]\""))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if v == "" || strings.HasPrefix(v, "~") {
			continue
		}
		switch {
		case section == "core" && k == "hookspath":
			if !filepath.IsAbs(v) {
				v = filepath.Join(project, v)
			}
			out = appendRel(out, project, v)
		case (section == "include" || section == "includeif") && k == "path":
			if !filepath.IsAbs(v) {
				v = filepath.Join(filepath.Dir(file), v)
			}
			if within(project, v) {
				out = appendRel(out, project, v)
				out = append(out, configRefs(project, filepath.Clean(v), seen, depth+1)...)
			}
		}
	}
	return out
}

// appendRel appends p relative to the project when it lies inside it.
func appendRel(out []string, project, p string) []string {
	rel, err := filepath.Rel(project, filepath.Clean(p))
	if err != nil || rel == "." || escapesRel(rel) {
		return out
	}
	return append(out, rel)
}
