package profiles

import (
	"fmt"
	"path"
)

// Protect is the [protect] table: project paths that programs on the host
// run code from without asking (git hooks and config, editor tasks), made
// read-only inside so that a sandbox cannot plant code the host runs next.
type Protect struct {
	// Defaults protects DefaultProtected (true unless the profile turns
	// it off; turning it off is a grant).
	Defaults bool `toml:"defaults" json:"defaults"`
	// Paths are more project paths to protect, relative to the project
	// root; a * matches one path element, as in path.Match.
	Paths []string `toml:"paths,omitempty" json:"paths,omitempty"`
}

// DefaultProtected are the project paths that git or an editor reads
// executable configuration from (docs/guide.md, "Protected paths", says
// where each comes from). Patterns as in path.Match.
var DefaultProtected = []string{
	".git/hooks",                       // githooks(5): run by commit, merge, checkout, push
	".git/config",                      // git-config(1): core.fsmonitor, core.hooksPath, core.pager, *.sshCommand, filter/diff drivers, aliases
	".git/config.worktree",             // extensions.worktreeConfig: the same keys
	".git/info",                        // gitattributes(5) in info/attributes picks filter/diff drivers; info/exclude hides planted files
	".git/commondir",                   // gitrepository-layout(5): moves config and hooks to the directory it names
	".git/modules/*/hooks",             // submodules' own git dirs
	".git/modules/*/config",            //
	".git/worktrees/*/config.worktree", // linked worktrees
	".vscode",                          // tasks.json (runOn: folderOpen), settings.json (terminal, interpreter paths), launch.json
	".idea",                            // JetBrains run configurations, startup tasks, external tools
	".devcontainer",                    // postCreateCommand and friends run on (re)open
	".envrc",                           // direnv: runs on cd after an allow
	".exrc",                            // vi/vim 'exrc'
	".nvimrc",                          // neovim 'exrc'
	".nvim.lua",                        // neovim 'exrc'
	FileName,                           // sandbox.toml: grants and protection are set here
}

// TmpfsSizes is the [tmpfs] table: the size of each tmpfs the sandbox makes
// for itself, memory that its files may pin.
type TmpfsSizes struct {
	Tmp Size `toml:"tmp" json:"tmp"` // /tmp (host base; an image's /tmp is its own)
	Shm Size `toml:"shm" json:"shm"` // /dev/shm
	Run Size `toml:"run" json:"run"` // /run
}

// validate checks the [protect] table.
func (pr Protect) validate(bad func(path []string, hint, format string, args ...any)) {
	for _, p := range pr.Paths {
		_, err := path.Match(p, "")
		if p == "" || path.IsAbs(p) || escapes(p) || err != nil {
			bad([]string{"protect", "paths"}, "write paths relative to the project root, e.g. \"scripts/hooks\"", "protect.paths: %q is not a path inside the project", p)
		}
	}
}

// validate checks the [tmpfs] table.
func (t TmpfsSizes) validate(bad func(path []string, hint, format string, args ...any)) {
	for key, v := range map[string]Size{"tmp": t.Tmp, "shm": t.Shm, "run": t.Run} {
		if v.Bytes() <= 0 {
			bad([]string{"tmpfs", key}, `write e.g. `+key+` = "512MiB"`, "tmpfs.%s %q is not a size above 0", key, v.String())
		}
	}
}

// maxTmpfsMounts is how many type = "tmpfs" mounts a profile may have
// without a grant: each may pin up to tmpfs.tmp of memory.
const maxTmpfsMounts = 4

// tmpfsGrants: a tmpfs's files pin memory, and without a memory cgroup
// nothing else bounds them, so an untrusted profile gets the default
// sizes at most (review 13, #7); larger ones, or more than
// maxTmpfsMounts tmpfs mounts, are grants.
func (p *Profile) tmpfsGrants() []Grant {
	def := Defaults().Tmpfs
	var gs []Grant
	for _, t := range []struct {
		key     string
		v, dflt Size
	}{{"tmp", p.Tmpfs.Tmp, def.Tmp}, {"shm", p.Tmpfs.Shm, def.Shm}, {"run", p.Tmpfs.Run, def.Run}} {
		if t.v.Bytes() > t.dflt.Bytes() {
			gs = append(gs, Grant{Kind: GrantTmpfs, What: fmt.Sprintf("tmpfs.%s = %s, above the default %s (memory its files may pin)", t.key, t.v, t.dflt)})
		}
	}
	n := 0
	for _, m := range p.Mounts {
		if m.Type == "tmpfs" {
			n++
		}
	}
	if n > maxTmpfsMounts {
		gs = append(gs, Grant{Kind: GrantTmpfs, What: fmt.Sprintf("%d tmpfs mounts of up to %s each (memory their files may pin)", n, p.Tmpfs.Tmp)})
	}
	return gs
}
