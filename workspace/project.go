package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sandbox/host"
	"sandbox/profiles"
)

// CheckProject refuses a project root that is not a project: binding it
// read-write would hand the sandbox the host's files at large. That is /,
// the home or a directory above it (the home holds ~/.ssh, shell startup
// files and every other project), the shared temporary directories, and
// the tool's own data, configuration and run state (images, sandbox homes,
// the trust records) and runDir, the run-state directory (package
// sandbox's RuntimeDir; "" when it has none).
func CheckProject(project string, h host.Host, runDir string) error {
	real := resolved(project)
	why := ""
	switch {
	case real == "/":
		why = "the root directory"
	case real == "/tmp" || real == "/var/tmp" || real == "/dev/shm" || real == resolved(os.TempDir()):
		why = "a directory shared by every program on the host"
	case h.Home != "" && within(real, resolved(h.Home)):
		why = "your home directory or a directory above it"
	}
	own := []string{h.DataDir}
	if dir, err := profiles.ConfigDir(); err == nil {
		own = append(own, dir)
	}
	own = append(own, runDir)
	for _, dir := range own {
		if why == "" && dir != "" && (within(real, resolved(dir)) || within(resolved(dir), real)) {
			why = "the sandbox tool's own directory " + dir + " or holds it"
		}
	}
	if why == "" {
		return nil
	}
	return &Error{
		Msg: fmt.Sprintf("the project directory would be %s, %s: a sandbox gets its project read-write", project, why),
		Fix: "run sandbox init in the project's own directory (it writes sandbox.toml there), or name it with --project DIR",
	}
}

// within reports whether dir is p or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(p, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// resolved is p made absolute with its symlinks resolved, as far as it
// exists.
func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}
