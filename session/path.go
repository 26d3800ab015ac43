package session

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sandbox/host"
	"sandbox/mounts"
	"sandbox/sandbox"
)

// insidePath is PATH inside a sandbox on the host base: the user's own
// PATH (so a toolchain installed the usual way, /usr/local/go/bin, is
// found) without the entries the sandbox cannot see: relative ones,
// missing ones, and those under hidden places (/tmp, /run, your home
// unless the private home has that directory). An empty result falls
// back to DefaultPath.
func insidePath(hostPath string, plan mounts.Plan) string {
	var keep []string
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(hostPath) {
		if !filepath.IsAbs(dir) || seen[filepath.Clean(dir)] {
			continue
		}
		dir = filepath.Clean(dir)
		seen[dir] = true
		if src, ok := hostSource(plan, dir, 0); ok && isDir(src) {
			keep = append(keep, dir)
		}
	}
	if len(keep) == 0 {
		return DefaultPath
	}
	return strings.Join(keep, ":")
}

// hostSource maps a path inside the sandbox to the host path behind it,
// following the plan: the deepest op covering it decides. A tmpfs (or any
// other fresh filesystem) shows nothing of the host; a symlink at the top
// (/bin -> usr/bin) is followed.
func hostSource(plan mounts.Plan, inside string, depth int) (string, bool) {
	var best *mounts.Op
	for i := range plan {
		op := &plan[i]
		if mounts.Under(inside, op.Target) && (best == nil || len(op.Target) >= len(best.Target)) {
			best = op
		}
	}
	if best == nil || depth > 4 {
		return "", false
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(inside, best.Target), "/")
	switch best.Kind {
	case mounts.Bind:
		return filepath.Join(best.Source, rel), true
	case mounts.OverlayDir:
		return filepath.Join(best.Layers[0], rel), true
	case mounts.Symlink:
		dest := best.Source
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(best.Target), dest)
		}
		return hostSource(plan, filepath.Join(dest, rel), depth+1)
	}
	return "", false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// toolDirs are where toolchains installed the usual way live, searched
// (after the user's PATH) for a command the sandbox did not find.
var toolDirs = []string{"/usr/local/go/bin", "~/go/bin", "~/.cargo/bin", "~/.local/bin", "~/.npm-global/bin"}

// notFoundHint says where a command that was not found in the sandbox is
// on the host, and how to make it visible; "" when the host lacks it too.
func notFoundHint(name string, spec *sandbox.Spec, onImage string, h host.Host) string {
	if strings.Contains(name, "/") {
		return ""
	}
	dirs := filepath.SplitList(host.Lookup(h.Environ, "PATH"))
	for _, d := range toolDirs {
		dirs = append(dirs, h.Expand(d))
	}
	for _, dir := range dirs {
		file := filepath.Join(dir, name)
		if fi, err := os.Stat(file); !filepath.IsAbs(dir) || err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue
		}
		path := host.Lookup(spec.Process.Env, "PATH")
		if onImage != "" {
			return fmt.Sprintf("%s is %s on the host, but this sandbox's root is the image %s: install it there with a [[setup]] step, or leave out image to run on the host's filesystem", name, file, onImage)
		}
		if src, ok := hostSource(spec.Mounts, dir, 0); ok && src == dir {
			return fmt.Sprintf("%s is %s, which the sandbox sees but its PATH (%s) lacks: add the directory, e.g. [env] PATH = \"%s:%s\" in sandbox.toml or -e PATH=%s:%s", name, file, path, dir, path, dir, path)
		}
		root := dir
		if filepath.Base(dir) == "bin" {
			root = filepath.Dir(dir) // a toolchain needs its whole tree (GOROOT)
		}
		return fmt.Sprintf("%s is %s on the host, in a directory the sandbox does not see (your home, /tmp and /run are private): bind it read-only and put it on PATH, e.g. -v %s:%s:ro -e PATH=%s:%s, or the same as a [[mount]] and [env] PATH in sandbox.toml", name, file, root, root, dir, path)
	}
	return ""
}
