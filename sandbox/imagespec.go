package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"sandbox/imagestore"
	"sandbox/mounts"
	"sandbox/userns"
	"sandbox/workspace"
)

// ImageRoot is the root filesystem of a sandbox on an image.
type ImageRoot struct {
	Ref    string
	Config imagestore.Config
	Layers []string // bottom first
	// Upper and Work are the sandbox's own layer; empty: throwaway.
	Upper, Work string
	Driver      mounts.OverlayFS
}

// newImageSpec is NewSpec for an image: the image's user, working
// directory, environment and command apply where the profile and flags
// leave them unset.
func newImageSpec(o Options, extra, netOps mounts.Plan, netEnv map[string]string) (*Spec, error) {
	p, h, img := o.Profile, o.Host, o.Image
	top := append([]string{img.Upper}, reversed(img.Layers)...)
	if img.Upper == "" {
		top = top[1:]
	}
	var uid, gid int
	var name, home, shell string
	var homeDir string
	self := p.IsSet("user") && p.User == "self"
	switch {
	case self:
		uid, gid, name, home = h.UID, h.GID, h.Name, h.Home
		if !o.Ephemeral {
			homeDir = filepath.Join(h.DataDir, "homes", workspace.ID(o.Project))
			if err := os.MkdirAll(homeDir, 0o700); err != nil {
				return nil, fmt.Errorf("creating the sandbox home: %w", err)
			}
			workspace.TouchHome(homeDir, o.Project)
		}
	case p.IsSet("user") && p.User == "root":
		uid, gid, name, home, shell = imageUser("0", top)
	default:
		var err error
		if uid, gid, name, home, shell, err = lookupImageUser(img.Config.User, top); err != nil {
			return nil, err
		}
	}
	if p.Shell != "" {
		shell = p.Shell
	}
	if shell == "" || !existsIn(top, shell) {
		shell = "/bin/sh"
	}
	cwd, err := imageCwd(o)
	if err != nil {
		return nil, err
	}
	args := imageArgs(o, shell)
	if p.Network.Mode == NetHost {
		netOps = append(netOps, hostNameFiles()...)
	}
	io := mounts.ImageOptions{
		Layers: img.Layers, Upper: img.Upper, Work: img.Work, Driver: img.Driver,
		Project: o.Project, Files: netOps, Extra: extra, Cgroup2: p.Limits.NeedsCgroup(),
		ProjectOp: projectOp(o), Sizes: tmpfsSizes(p),
	}
	if self {
		io.Home, io.HomeDir = home, homeDir
	}
	env := imageEnv(img.Config.Env)
	fixed := merge(netEnv, map[string]string{"HOME": home, "USER": name, "LOGNAME": name, "SHELL": shell})
	if v, ok := env["PATH"]; ok {
		fixed["PATH"] = v
	}
	nested, err := imageNestedMap(o, self, uid, gid)
	if err != nil {
		return nil, err
	}
	spec := &Spec{
		Hostname: p.Hostname,
		Mounts:   mounts.Image(io),
		Process: Process{
			Args: args, Cwd: cwd, UID: uid, GID: gid, Terminal: o.Terminal, Size: o.Size,
			Env: buildEnv(p, h.Environ, merge(env, fixed)),
		},
		UIDMap:    userns.Within(nested, o.Mapping.UIDs),
		GIDMap:    userns.Within(nested, o.Mapping.GIDs),
		SetGroups: o.Mapping.Degraded == "",
		Network:   string(p.Network.Mode),
		Security:  p.Security,
	}
	if p.Network.Mode == NetSlirp && !p.Network.AllowHostLoopback {
		spec.Unreachable = hostAddresses()
		spec.WatchHostAddrs = true
	}
	return spec, spec.Validate()
}

// imageNestedMap maps the payload's namespace onto the sandbox's: keep-id
// for the user's own ids, else identity, which must cover the image
// user's uid and gid.
func imageNestedMap(o Options, self bool, uid, gid int) ([]userns.IDMap, error) {
	total := min(userns.Total(o.Mapping.UIDs), userns.Total(o.Mapping.GIDs))
	if uid >= total || gid >= total {
		return nil, &SetupError{
			Msg: fmt.Sprintf("the image's user %q is uid %d gid %d, beyond the %d ids this sandbox maps", o.Image.Config.User, uid, gid, total),
			Fix: "give your user a subordinate id range (sandbox doctor says how), or set user = \"root\" in the profile",
		}
	}
	if self {
		return userns.KeepID(o.Host.UID, total), nil
	}
	return userns.Identity(total), nil
}

// imageCwd is the working directory: the image's, unless the profile or a
// flag sets one in the project.
func imageCwd(o Options) (string, error) {
	p, cfg := o.Profile, o.Image.Config
	if !p.IsSet("workdir") && cfg.WorkingDir != "" {
		return path.Clean("/" + cfg.WorkingDir), nil
	}
	cwd := filepath.Join(o.Project, p.Workdir)
	if fi, err := os.Stat(cwd); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("workdir %s is not a directory in the project", cwd)
	}
	return cwd, nil
}

// imageArgs is the command: the one given, else the image's entrypoint and
// command (not for a shell), else the shell.
func imageArgs(o Options, shell string) []string {
	args := o.Args
	if len(args) == 0 && !o.Shell {
		args = append(append([]string{}, o.Image.Config.Entrypoint...), o.Image.Config.Cmd...)
	}
	if len(args) == 0 {
		args = []string{shell}
	}
	return args
}

// hostNameFiles binds the host's resolv.conf and hosts, where it has them,
// for an image run on the host's network.
func hostNameFiles() mounts.Plan {
	var ops mounts.Plan
	for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
		if _, err := os.Stat(f); err == nil {
			ops = append(ops, mounts.Op{Kind: mounts.Bind, Source: f, Target: f, ReadOnly: true})
		}
	}
	return ops
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
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
		return 0, 0, "", "", "", &SetupError{
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
	return 0, &SetupError{Msg: fmt.Sprintf("the image's group %q is not in its /etc/group", g), Fix: "use a numeric gid"}
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

// newImageSpecFor resolves the profile's mounts and network files, then
// the image.
func newImageSpecFor(o Options) (*Spec, error) {
	p := o.Profile
	home := o.Host.Home
	if !(p.IsSet("user") && p.User == "self") {
		home = "/root"
	}
	extra, netOps, netEnv, err := mountsAndFiles(o, home)
	if err != nil {
		return nil, err
	}
	return newImageSpec(o, extra, netOps, netEnv)
}
