package session

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sandbox/host"
	"sandbox/mounts"
	"sandbox/userns"
)

// HostRoot is the host base: the sandbox's / shows the host's own system
// directories (read-only), with a private home, /tmp and /run.
type HostRoot struct{}

// user is the invoking user, or root (uid 0) with user = "root"; either
// way with the project's sandbox home.
func (HostRoot) user(r Request, h host.Host) (identity, error) {
	p := r.Profile
	id := identity{uid: h.UID, gid: h.GID, name: h.Name, home: h.Home, ownHome: true, mode: string(p.User)}
	if p.User == "root" {
		id.uid, id.gid, id.name, id.home = 0, 0, "root", "/root"
	}
	id.tilde = id.home
	id.shell = chooseShell(p.Shell, host.Lookup(h.Environ, "SHELL"))
	return id, nil
}

// cwd is the profile's workdir in the project.
func (HostRoot) cwd(r Request) (string, error) {
	cwd := filepath.Join(r.Project, r.Profile.Workdir)
	if fi, err := os.Stat(cwd); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("workdir %s is not a directory in the project", cwd)
	}
	return cwd, nil
}

// args is the command given, else the shell.
func (HostRoot) args(r Request, shell string) []string {
	if len(r.Args) == 0 {
		return []string{shell}
	}
	return r.Args
}

func (HostRoot) plan(c common) mounts.Plan {
	return mounts.Host(mounts.HostOptions{
		Root: c.host.Root, Home: c.id.home, HomeDir: c.homeDir, Project: c.project, Files: c.files, Extra: c.extra,
		Cgroup2: c.cgroup2, ProjectOp: c.projectOp, Sizes: c.sizes,
	})
}

// env: the host base brings no environment of its own.
func (HostRoot) env() map[string]string { return nil }

// path is the user's PATH, less what the sandbox cannot see (insidePath).
func (HostRoot) path(h host.Host, plan mounts.Plan) map[string]string {
	return map[string]string{"PATH": insidePath(host.Lookup(h.Environ, "PATH"), plan)}
}

// nested is keep-id for "self", identity for "root".
func (HostRoot) nested(id identity, o Options) (uids, gids []userns.IDMap, err error) {
	total := min(userns.Total(o.Mapping.UIDs), userns.Total(o.Mapping.GIDs))
	return userns.Nested(id.mode, o.Host.UID, total), userns.Nested(id.mode, o.Host.GID, total), nil
}

// chooseShell picks the profile's shell, else $SHELL when it is visible
// inside (the host base shows the host's system directories), else /bin/sh.
func chooseShell(profileShell, hostShell string) string {
	if profileShell != "" {
		return profileShell
	}
	if hostShell != "" && filepath.IsAbs(hostShell) && !strings.HasPrefix(hostShell, "/home/") {
		if fi, err := os.Stat(hostShell); err == nil && !fi.IsDir() {
			return hostShell
		}
	}
	return "/bin/sh"
}
