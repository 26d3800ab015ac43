package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sandbox/host"
	"sandbox/profiles"
)

// ProjectCheck is how a project was chosen, for CheckProject.
type ProjectCheck struct {
	// RunDir is the run-state directory (package runs' RuntimeDir; ""
	// when it has none).
	RunDir string
	// Named: the user named the project with --project DIR, which is how
	// a directory the host runs code from (hostCodeDir) becomes one.
	Named bool
}

// CheckProject refuses a project root that is not a project: binding it
// read-write would hand the sandbox the host's files at large. That is /,
// the home or a directory above it (the home holds ~/.ssh, shell startup
// files and every other project), the shared temporary directories, and
// the tool's own data, configuration and run state (images, sandbox homes,
// the trust records); no flag makes these a project. A directory the
// host runs code from (hostCodeDir: ~/.config/nvim, ~/.local/bin) is one
// only when the user names it with --project DIR (c.Named), so that
// `cd ~/.config/nvim && sandbox run` does not hand over init.lua unasked.
func CheckProject(project string, h host.Host, c ProjectCheck) error {
	real := resolved(project)
	// Each path is resolved once: EvalSymlinks lstats every component,
	// and these checks ran it twice for most of them (issue 18).
	home := ""
	if h.Home != "" {
		home = resolved(h.Home)
	}
	why := ""
	switch {
	case real == "/":
		why = "the root directory"
	case real == "/tmp" || real == "/var/tmp" || real == "/dev/shm" || real == resolved(os.TempDir()):
		why = "a directory shared by every program on the host"
	case home != "" && within(real, home):
		why = "your home directory or a directory above it"
	}
	own := []string{h.DataDir}
	if dir, err := profiles.ConfigDir(); err == nil {
		own = append(own, dir)
	}
	own = append(own, c.RunDir)
	for _, dir := range own {
		if why != "" || dir == "" {
			continue
		}
		if r := resolved(dir); within(real, r) || within(r, real) {
			why = "the sandbox tool's own directory " + dir + " or holds it"
		}
	}
	if why != "" {
		return &Error{
			Msg: fmt.Sprintf("the project directory would be %s, %s: a sandbox gets its project read-write", project, why),
			Fix: "run sandbox init in the project's own directory (it writes sandbox.toml there), or name it with --project DIR",
		}
	}
	if dir := hostCodeDir(real, home, h); dir != "" && !c.Named {
		return &Error{
			Msg: fmt.Sprintf("the project directory would be %s, which is in %s, where programs on the host read configuration and code from (editor, shell, git, autostart): a sandbox gets its project read-write", project, dir),
			Fix: "if you mean to give the sandbox this directory, name it: sandbox run --project " + project + "; else run sandbox in the project's own directory",
		}
	}
	return nil
}

// hostCodeDir is the directory that makes real a place the host runs code
// from, or "": a dot-directory of the home (~/.config, ~/.local/bin,
// ~/.vim, ~/.oh-my-zsh), $XDG_CONFIG_HOME and $XDG_DATA_HOME wherever
// they are, and ~/bin. A project holding one of them is refused too.
// home is h.Home resolved.
func hostCodeDir(real, home string, h host.Host) string {
	if home == "" {
		return ""
	}
	if rel, err := filepath.Rel(home, real); err == nil && strings.HasPrefix(rel, ".") && !escapesRel(rel) && rel != "." {
		return filepath.Join(home, strings.SplitN(rel, "/", 2)[0])
	}
	dirs := []string{filepath.Join(home, "bin")}
	for _, k := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME"} {
		if d := host.Lookup(h.Environ, k); filepath.IsAbs(d) {
			dirs = append(dirs, resolved(d))
		}
	}
	for _, d := range dirs {
		if within(d, real) || within(real, d) {
			return d
		}
	}
	return linkedHostCode(real, home, h)
}

// linkedHostCode finds a link the host follows into real: dotfile
// managers (GNU stow) link ~/.config/nvim to ~/dotfiles/nvim, which makes
// a project in ~/dotfiles the host's code as much as ~/.config itself. It
// looks at the links among the home's dot-entries and in ~/.config (or
// $XDG_CONFIG_HOME), ~/.local/bin and ~/bin: a few directory reads.
func linkedHostCode(real, home string, h host.Host) string {
	config := filepath.Join(home, ".config")
	if d := host.Lookup(h.Environ, "XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		config = d
	}
	for _, dir := range []string{home, config, filepath.Join(home, ".local", "bin"), filepath.Join(home, "bin")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Type()&os.ModeSymlink == 0 || (dir == home && !strings.HasPrefix(e.Name(), ".")) {
				continue
			}
			link := filepath.Join(dir, e.Name())
			target, err := filepath.EvalSymlinks(link)
			if err == nil && target != "/" && (within(real, target) || within(target, real)) {
				return link + " -> " + target
			}
		}
	}
	return ""
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
