package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sandbox/console"
	"sandbox/host"
	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/userns"
	"sandbox/workspace"
)

// DefaultPath is PATH inside unless the profile sets one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options are the inputs of NewSpec.
type Options struct {
	Profile   *profiles.Profile
	Project   string   // absolute path of the project root
	Args      []string // the command; empty runs the profile's shell
	Terminal  bool
	Size      console.Size
	Ephemeral bool // a throwaway home instead of the persistent one
	Mapping   *userns.Mapping
	Host      host.Host
	// Files is a directory for the files the sandbox bind-mounts
	// (resolv.conf, hosts); RunFilesDir gives the run's own.
	Files string
	// Image, if set, is the root filesystem instead of the host's.
	Image *ImageRoot
	// Shell: the session is `sandbox shell`, so no command means the
	// shell, not the image's command.
	Shell bool
	// ProjectUpper and ProjectWork hold the project's changes in project
	// = "overlay" mode; empty: in memory (--ephemeral).
	ProjectUpper, ProjectWork string
}

// projectOp is the project's mount in project = "overlay" mode, else nil.
func projectOp(o Options) *mounts.Op {
	if o.Profile.Project != "overlay" {
		return nil
	}
	return &mounts.Op{Kind: mounts.OverlayDir, Target: o.Project, Layers: []string{o.Project}, Upper: o.ProjectUpper, Work: o.ProjectWork}
}

// NewSpec resolves a profile against the host into a Spec. It creates the
// project's persistent sandbox home if needed and checks that every bind
// source exists, so mistakes surface before any namespace is made.
func NewSpec(o Options) (*Spec, error) {
	p, h := o.Profile, o.Host
	if filepath.Clean(o.Project) == "/" {
		return nil, errors.New("the project directory is /: run sandbox from a project directory, or put a sandbox.toml in one")
	}
	if o.Image != nil {
		return newImageSpecFor(o)
	}
	uid, gid, name, home := h.UID, h.GID, h.Name, h.Home
	if p.User == "root" {
		uid, gid, name, home = 0, 0, "root", "/root"
	}
	homeDir := ""
	if !o.Ephemeral {
		homeDir = filepath.Join(h.DataDir, "homes", workspace.ID(o.Project))
		if err := os.MkdirAll(homeDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the sandbox home: %w", err)
		}
		workspace.TouchHome(homeDir, o.Project)
	}
	extra, netOps, netEnv, err := mountsAndFiles(o, home)
	if err != nil {
		return nil, err
	}
	cwd := filepath.Join(o.Project, p.Workdir)
	if fi, err := os.Stat(cwd); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("workdir %s is not a directory in the project", cwd)
	}
	shell := chooseShell(p.Shell, lookupEnv(h.Environ, "SHELL"))
	args := o.Args
	if len(args) == 0 {
		args = []string{shell}
	}
	total := min(userns.Total(o.Mapping.UIDs), userns.Total(o.Mapping.GIDs))
	plan := mounts.Host(mounts.HostOptions{
		Root: h.Root, Home: home, HomeDir: homeDir, Project: o.Project, Files: netOps, Extra: extra,
		Cgroup2: p.Limits.NeedsCgroup(), ProjectOp: projectOp(o), Sizes: tmpfsSizes(p),
	})
	fixed := map[string]string{"HOME": home, "USER": name, "LOGNAME": name, "SHELL": shell,
		"PATH": insidePath(lookupEnv(h.Environ, "PATH"), plan)}
	spec := &Spec{
		Hostname: p.Hostname,
		Mounts:   plan,
		Process: Process{
			Args: args, Cwd: cwd, UID: uid, GID: gid, Terminal: o.Terminal, Size: o.Size,
			Env: buildEnv(p, h.Environ, merge(netEnv, fixed)),
		},
		UIDMap:    userns.Within(nestedMap(string(p.User), h.UID, total), o.Mapping.UIDs),
		GIDMap:    userns.Within(nestedMap(string(p.User), h.GID, total), o.Mapping.GIDs),
		SetGroups: !o.Mapping.Single(),
		Network:   string(p.Network.Mode),
		Security:  p.Security,
	}
	if p.Network.Mode == NetSlirp && !p.Network.AllowHostLoopback {
		spec.Unreachable = hostAddresses()
		spec.WatchHostAddrs = true
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return spec, nil
}

// mountsAndFiles resolves the profile's mounts (~ is home) and writes
// the network's generated files.
func mountsAndFiles(o Options, home string) (extra, files mounts.Plan, env map[string]string, err error) {
	p := o.Profile
	if extra, err = profileMounts(p, o.Project, home, o.Host); err != nil {
		return nil, nil, nil, err
	}
	extra = append(extra, workspace.ProtectOps(p, o.Project, extra)...)
	if o.Files == "" && p.Network.Mode != NetHost {
		return nil, nil, nil, errors.New("no directory for the sandbox's generated files (Options.Files)")
	}
	caches, cacheEnv, err := workspace.CacheMounts(p, o.Host, home)
	if err != nil {
		return nil, nil, nil, err
	}
	files, env, err = networkFiles(p.Network, p.Hostname, o.Files)
	// The profile's own mounts come last, so they win over a cache's.
	return append(caches, extra...), files, merge(cacheEnv, env), err
}

// nestedMap lays out the payload's ids over the outer namespace's total
// ids: keep-id for "self", identity for "root".
func nestedMap(userMode string, own, total int) []userns.IDMap {
	if userMode == "root" {
		return userns.Identity(total)
	}
	return userns.KeepID(own, total)
}

func profileMounts(p *profiles.Profile, project, home string, h host.Host) (mounts.Plan, error) {
	var plan mounts.Plan
	for _, m := range p.Mounts {
		target := m.Target
		if target == "~" || strings.HasPrefix(target, "~/") {
			target = home + strings.TrimPrefix(target, "~")
		}
		if m.Type == "tmpfs" {
			plan = append(plan, mounts.Op{Kind: mounts.Tmpfs, Target: filepath.Clean(target), ReadOnly: m.ReadOnly(), Data: "mode=755"})
			continue
		}
		src := expandHost(m.Source, h)
		if !filepath.IsAbs(src) {
			src = filepath.Join(project, src)
		}
		src = filepath.Clean(src)
		beneath, err := sourceBeneath(src, m.Target, project)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(src); err != nil {
			return nil, &SetupError{
				Msg: fmt.Sprintf("mount source %s (for %s) does not exist", src, m.Target),
				Fix: "create it (mkdir -p " + src + "), or remove the mount from the profile",
			}
		}
		plan = append(plan, mounts.Op{Kind: mounts.Bind, Source: src, Target: filepath.Clean(target), ReadOnly: m.ReadOnly(), Beneath: beneath})
	}
	return plan, nil
}

// expandHost expands a leading ~ to the host home and $VARS from the host
// environment.
func expandHost(s string, h host.Host) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = h.Home + strings.TrimPrefix(s, "~")
	}
	return os.Expand(s, func(k string) string {
		if k == "HOME" {
			return h.Home
		}
		return lookupEnv(h.Environ, k)
	})
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

// buildEnv starts from nothing: the passed-through host variables, then
// HOME, USER, LOGNAME, SHELL (and PATH if still unset), then the profile's
// [env], which wins.
func buildEnv(p *profiles.Profile, host []string, fixed map[string]string) []string {
	env := map[string]string{}
	for _, kv := range host {
		k, v, _ := strings.Cut(kv, "=")
		if passes(p.EnvPassthrough, k) {
			env[k] = v
		}
	}
	for k, v := range fixed {
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = DefaultPath
	}
	for k, v := range p.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func passes(patterns []string, name string) bool {
	for _, pat := range patterns {
		if prefix, ok := strings.CutSuffix(pat, "*"); ok && strings.HasPrefix(name, prefix) || pat == name {
			return true
		}
	}
	return false
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v
		}
	}
	return ""
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// tmpfsSizes are the profile's [tmpfs] sizes (validated by profiles).
func tmpfsSizes(p *profiles.Profile) mounts.Sizes {
	return mounts.Sizes{Tmp: p.Tmpfs.Tmp.Bytes(), Shm: p.Tmpfs.Shm.Bytes(), Run: p.Tmpfs.Run.Bytes()}
}
