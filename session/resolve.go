package session

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
	"sandbox/network"
	"sandbox/profiles"
	"sandbox/sandbox"
	"sandbox/userns"
	"sandbox/workspace"
)

// DefaultPath is PATH inside unless the profile sets one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Request is one sandbox run as asked for: the profile (flags applied),
// the project and the command. The user's run is one, each setup step
// another; NewSpec resolves either the same way.
type Request struct {
	Profile  *profiles.Profile
	Project  string   // absolute path of the project root
	Args     []string // the command; empty: the image's command, else the shell
	Terminal bool     // give the payload a PTY
	// Shell: this is `sandbox shell`, so no command means the shell, also
	// on an image with a command of its own.
	Shell     bool
	Ephemeral bool // a throwaway home and layer instead of the persistent ones
	// ProfileFile is the profile the run was loaded from: named in errors
	// (setup steps' lines), and protected like sandbox.toml when it lies
	// in the project (`-f dev.toml`).
	ProfileFile string
}

// Options are what NewSpec resolves a Request against: what this host
// and this run's preparation found or made. None of it is the user's
// choice: that is all in the Request.
type Options struct {
	Host    host.Host
	Mapping *userns.Mapping
	// Root is the filesystem the sandbox's / is made of: HostRoot or an
	// *ImageRoot.
	Root Root
	// Files is a directory for the files the sandbox bind-mounts
	// (resolv.conf, hosts); runs.FilesDir gives the run's own.
	Files string
	Size  console.Size // the user's terminal, for a request with Terminal
	// ProjectUpper and ProjectWork hold the project's changes in project
	// = "overlay" mode; empty: in memory (--ephemeral).
	ProjectUpper, ProjectWork string
	// Net is the network mode's driver (network.New); nil: the profile's.
	Net network.Driver
}

// netDriver is the run's network driver.
func (o Options) netDriver(p *profiles.Profile) network.Driver {
	if o.Net == nil {
		return network.New(p.Network, o.Files)
	}
	return o.Net
}

// Root is a root filesystem value: what a sandbox's / is made of. It
// decides what the host's own directories and an image decide
// differently: who the payload is (user, home, shell), where it starts
// (working directory, command), PATH and the environment the root brings,
// the mounts that make the root, and how the payload's ids nest. NewSpec
// does everything else the same way for both.
type Root interface {
	// user is who the payload runs as, with their home and shell.
	user(r Request, h host.Host) (identity, error)
	// cwd is the payload's working directory.
	cwd(r Request) (string, error)
	// args is the command: the request's, else the root's default.
	args(r Request, shell string) []string
	// plan is the whole mount plan: the root's own mounts around the
	// ones every root gets (c).
	plan(c common) mounts.Plan
	// env is the root's own environment, below everything else; path is
	// PATH (none: buildEnv's default), above everything but [env].
	env() map[string]string
	path(h host.Host, plan mounts.Plan) map[string]string
	// nested maps the payload's ids onto the sandbox's outer namespace.
	nested(id identity, o Options) (uids, gids []userns.IDMap, err error)
}

// identity is who the payload runs as on a root.
type identity struct {
	uid, gid          int
	name, home, shell string
	// tilde is what ~ means in the profile's mounts and caches.
	tilde string
	// ownHome: the run gets a home of its own at home, the project's
	// persistent sandbox home (throwaway with --ephemeral).
	ownHome bool
	mode    string // the profile's user mode: "self" or "root"
}

// common are the mounts every root gets, and what a root's plan needs.
type common struct {
	host         host.Host
	id           identity
	homeDir      string // the persistent home's host directory; "": none
	project      string
	files, extra mounts.Plan
	cgroup2      bool
	projectOp    *mounts.Op
	sizes        mounts.Sizes
}

// projectOp is the project's mount in project = "overlay" mode, else nil.
func projectOp(r Request, o Options) *mounts.Op {
	if r.Profile.Project != "overlay" {
		return nil
	}
	return &mounts.Op{Kind: mounts.OverlayDir, Target: r.Project, Layers: []string{r.Project}, Upper: o.ProjectUpper, Work: o.ProjectWork}
}

// NewSpec resolves a request on a root (o.Root) against the host into a
// Spec. It creates the project's persistent sandbox home if needed and
// checks that every bind source exists, so mistakes surface before any
// namespace is made.
func NewSpec(r Request, o Options) (*sandbox.Spec, error) {
	p, h, root := r.Profile, o.Host, o.Root
	if filepath.Clean(r.Project) == "/" {
		return nil, errors.New("the project directory is /: run sandbox from a project directory, or put a sandbox.toml in one")
	}
	id, err := root.user(r, h)
	if err != nil {
		return nil, err
	}
	c := common{host: h, id: id, project: r.Project, cgroup2: p.Limits.NeedsCgroup(), projectOp: projectOp(r, o), sizes: tmpfsSizes(p)}
	if c.homeDir, err = persistentHome(r, h, id); err != nil {
		return nil, err
	}
	var netEnv map[string]string
	if c.extra, c.files, netEnv, err = mountsAndFiles(r, o, id.tilde); err != nil {
		return nil, err
	}
	cwd, err := root.cwd(r)
	if err != nil {
		return nil, err
	}
	plan := root.plan(c)
	fixed := map[string]string{"HOME": id.home, "USER": id.name, "LOGNAME": id.name, "SHELL": id.shell}
	uids, gids, err := root.nested(id, o)
	if err != nil {
		return nil, err
	}
	spec := &sandbox.Spec{
		Hostname: p.Hostname,
		Mounts:   plan,
		Process: sandbox.Process{
			Args: root.args(r, id.shell), Cwd: cwd, UID: id.uid, GID: id.gid, Terminal: r.Terminal, Size: o.Size,
			Env: buildEnv(p, h.Environ, merge(root.env(), netEnv, fixed, root.path(h, plan))),
		},
		UIDMap:    userns.Within(uids, o.Mapping.UIDs),
		GIDMap:    userns.Within(gids, o.Mapping.GIDs),
		SetGroups: !o.Mapping.Single(),
		Child:     o.netDriver(p).Child(),
		Security:  p.Security,
	}
	return spec, spec.Validate()
}

// persistentHome makes the project's sandbox home, for a run that has a
// home of its own and keeps it; "" otherwise.
func persistentHome(r Request, h host.Host, id identity) (string, error) {
	if !id.ownHome || r.Ephemeral {
		return "", nil
	}
	homeDir := filepath.Join(h.DataDir, "homes", workspace.ID(r.Project))
	if err := os.MkdirAll(homeDir, 0o700); err != nil {
		return "", fmt.Errorf("creating the sandbox home: %w", err)
	}
	workspace.TouchHome(homeDir, r.Project)
	return homeDir, nil
}

// mountsAndFiles resolves the profile's mounts (~ is tilde) and writes
// the network's generated files.
func mountsAndFiles(r Request, o Options, tilde string) (extra, files mounts.Plan, env map[string]string, err error) {
	p := r.Profile
	if extra, err = profileMounts(p, r.Project, tilde, o.Host); err != nil {
		return nil, nil, nil, err
	}
	extra = append(extra, workspace.ProtectOps(p, r.Project, extra, r.ProfileFile)...)
	caches, cacheEnv, err := workspace.CacheMounts(p, o.Host, tilde)
	if err != nil {
		return nil, nil, nil, err
	}
	files, env, err = o.netDriver(p).Files(p.Hostname, o.Files, isImage(o.Root))
	// The profile's own mounts come last, so they win over a cache's.
	return append(caches, extra...), files, merge(cacheEnv, env), err
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
		src := h.Expand(m.Source)
		if !filepath.IsAbs(src) {
			src = filepath.Join(project, src)
		}
		src = filepath.Clean(src)
		beneath, err := sourceBeneath(src, m.Target, project)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(src); err != nil {
			return nil, &sandbox.SetupError{
				Msg: fmt.Sprintf("mount source %s (for %s) does not exist", src, m.Target),
				Fix: "create it (mkdir -p " + src + "), or remove the mount from the profile",
			}
		}
		plan = append(plan, mounts.Op{Kind: mounts.Bind, Source: src, Target: filepath.Clean(target), ReadOnly: m.ReadOnly(), Beneath: beneath})
	}
	return plan, nil
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

// isImage reports whether root is an image's (the host's name files are
// bound for an image on the host's network).
func isImage(root Root) bool {
	_, ok := root.(*ImageRoot)
	return ok
}
