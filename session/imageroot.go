package session

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/mounts"
	"sandbox/sandbox"
	"sandbox/userns"
)

// ImageRoot is the root filesystem of a sandbox on an image: the image's
// user, working directory, environment and command apply where the
// profile and flags leave them unset.
type ImageRoot struct {
	Ref    string
	Config imagestore.Config
	Layers []string // bottom first
	// Upper and Work are the sandbox's own layer; empty: throwaway.
	Upper, Work string
	Driver      mounts.OverlayFS
}

// top are the root's layers, the sandbox's own first.
func (img *ImageRoot) top() []string {
	top := append([]string{img.Upper}, mounts.TopFirst(img.Layers)...)
	if img.Upper == "" {
		top = top[1:]
	}
	return top
}

// user is the image's user (from its /etc/passwd), root with user =
// "root", or, with user = "self", the invoking user with the project's
// sandbox home.
func (img *ImageRoot) user(r Request, h host.Host) (identity, error) {
	p, top := r.Profile, img.top()
	var id identity
	switch {
	case p.IsSet("user") && p.User == "self":
		id = identity{uid: h.UID, gid: h.GID, name: h.Name, home: h.Home, ownHome: true, mode: "self"}
	case p.IsSet("user") && p.User == "root":
		id.uid, id.gid, id.name, id.home, id.shell = imageUser("0", top)
	default:
		var err error
		if id.uid, id.gid, id.name, id.home, id.shell, err = lookupImageUser(img.Config.User, top); err != nil {
			return id, err
		}
	}
	// ~ in the profile's mounts and caches is the payload's home: yours
	// with user = "self", else the image user's from its passwd (a
	// non-root user could not use /root's), /root when it names none.
	id.tilde = id.home
	if id.tilde == "" || id.tilde == "/" {
		id.tilde = "/root"
	}
	if p.Shell != "" {
		id.shell = p.Shell
	}
	if id.shell == "" || !existsIn(top, id.shell) {
		id.shell = "/bin/sh"
	}
	return id, nil
}

// cwd is the image's working directory, unless the profile or a flag
// sets one in the project.
func (img *ImageRoot) cwd(r Request) (string, error) {
	p, cfg := r.Profile, img.Config
	if !p.IsSet("workdir") && cfg.WorkingDir != "" {
		return path.Clean("/" + cfg.WorkingDir), nil
	}
	return HostRoot{}.cwd(r)
}

// args is the command given, else the image's entrypoint and command
// (not for `sandbox shell`), else the shell.
func (img *ImageRoot) args(r Request, shell string) []string {
	args := r.Args
	if len(args) == 0 && !r.Shell {
		args = append(append([]string{}, img.Config.Entrypoint...), img.Config.Cmd...)
	}
	if len(args) == 0 {
		args = []string{shell}
	}
	return args
}

func (img *ImageRoot) plan(c common) mounts.Plan {
	io := mounts.ImageOptions{
		Layers: img.Layers, Upper: img.Upper, Work: img.Work, Driver: img.Driver,
		Project: c.project, Files: c.files, Extra: c.extra, Cgroup2: c.cgroup2,
		ProjectOp: c.projectOp, Sizes: c.sizes,
	}
	if c.id.ownHome {
		io.Home, io.HomeDir = c.id.home, c.homeDir
	}
	return mounts.Image(io)
}

// env is the image's environment.
func (img *ImageRoot) env() map[string]string { return imageEnv(img.Config.Env) }

// path is the image's PATH, if it sets one.
func (img *ImageRoot) path(host.Host, mounts.Plan) map[string]string {
	if v, ok := imageEnv(img.Config.Env)["PATH"]; ok {
		return map[string]string{"PATH": v}
	}
	return nil
}

// nested maps the payload's namespace onto the sandbox's: keep-id for the
// user's own ids, else identity, which must cover the image user's uid
// and gid.
func (img *ImageRoot) nested(id identity, o Options) (uids, gids []userns.IDMap, err error) {
	total := min(userns.Total(o.Mapping.UIDs), userns.Total(o.Mapping.GIDs))
	if id.uid >= total || id.gid >= total {
		return nil, nil, &sandbox.SetupError{
			Msg: fmt.Sprintf("the image's user %q is uid %d gid %d, beyond the %d ids this sandbox maps", img.Config.User, id.uid, id.gid, total),
			Fix: "give your user a subordinate id range (sandbox doctor says how), or set user = \"root\" in the profile",
		}
	}
	if id.ownHome {
		// Keep-id: the user's own uid and gid inside are theirs outside.
		return userns.KeepID(o.Host.UID, total), userns.KeepID(o.Host.GID, total), nil
	}
	m := userns.Identity(total)
	return m, m, nil
}

func imageEnv(kvs []string) map[string]string {
	env := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// findIn returns the host path of rel in the topmost of dirs (upper layer
// first) that has it, stopping at a whiteout.
func findIn(dirs []string, rel string) (string, bool) {
	for _, d := range dirs {
		p := filepath.Join(d, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeCharDevice != 0 {
			return "", false // a whiteout: deleted in this layer
		}
		return p, true
	}
	return "", false
}

func existsIn(dirs []string, abs string) bool {
	_, ok := findIn(dirs, abs)
	return ok
}

// lookupImageUser resolves an image's User ("", "name", "uid",
// "name:group", "uid:gid") with the image's /etc/passwd and /etc/group.
func lookupImageUser(user string, dirs []string) (uid, gid int, name, home, shell string, err error) {
	if user == "" {
		user = "0"
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, gid, name, home, shell = imageUser(u, dirs)
	if uid < 0 {
		return 0, 0, "", "", "", &sandbox.SetupError{
			Msg: fmt.Sprintf("the image's user %q is not in its /etc/passwd", user),
			Fix: "set user = \"root\" in the profile, or use a numeric uid",
		}
	}
	if hasGroup {
		if gid, err = imageGroup(g, dirs); err != nil {
			return 0, 0, "", "", "", err
		}
	}
	return uid, gid, name, home, shell, nil
}

// imageUser finds u (a name or uid) in the image's passwd; uid -1 when a
// name is not there. A numeric uid needs no entry.
func imageUser(u string, dirs []string) (uid, gid int, name, home, shell string) {
	n, numErr := strconv.Atoi(u)
	for _, f := range passwdLines(dirs, "etc/passwd") {
		if len(f) < 7 {
			continue
		}
		id, _ := strconv.Atoi(f[2])
		if f[0] == u || (numErr == nil && id == n) {
			g, _ := strconv.Atoi(f[3])
			return id, g, f[0], f[5], f[6]
		}
	}
	if numErr != nil {
		return -1, 0, "", "", ""
	}
	home = "/"
	if n == 0 {
		name, home = "root", "/root"
	}
	return n, n, name, home, ""
}

func imageGroup(g string, dirs []string) (int, error) {
	if n, err := strconv.Atoi(g); err == nil {
		return n, nil
	}
	for _, f := range passwdLines(dirs, "etc/group") {
		if len(f) >= 3 && f[0] == g {
			return strconv.Atoi(f[2])
		}
	}
	return 0, &sandbox.SetupError{Msg: fmt.Sprintf("the image's group %q is not in its /etc/group", g), Fix: "use a numeric gid"}
}

// passwdLines reads a colon-separated file of the image. Symlinks are not
// followed: the file is the image's, read on the host.
func passwdLines(dirs []string, rel string) [][]string {
	p, ok := findIn(dirs, rel)
	if !ok {
		return nil
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.Split(sc.Text(), ":"))
	}
	return out
}
