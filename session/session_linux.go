package session

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"sandbox/cgroup"
	"sandbox/console"
	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/profiles"
	"sandbox/runs"
	"sandbox/sandbox"
	"sandbox/userns"
	"sandbox/workspace"
)

// Session is one `sandbox run`, `shell` or `build` as the CLI asks for it:
// the request, and how to build its root and talk to the user on the way.
type Session struct {
	Request
	// Cwd is the user's working directory. With the profile's default
	// workdir ("."), a Cwd inside the project is kept, so that
	// `cd pkg && sandbox run -- go test .` runs in pkg.
	Cwd string
	// Warn prints a warning for the user (a limit that is not enforced).
	Warn func(string)
	// Insecure allows plain HTTP and unverified TLS for the image's
	// registry (--tls-verify=false).
	Insecure bool
	// Progress, if set, shows the pull of a missing image.
	Progress func(imagestore.Progress)
	// Announce, if set, prints a setup step's header.
	Announce func(string)
	// Locked: the image and every setup step must match sandbox.lock
	// (--locked, SANDBOX_LOCKED=1).
	Locked bool
	// Lifecycle names the run and says where its output goes.
	Lifecycle sandbox.Lifecycle
	// ProjectNamed: the user named the project with --project DIR
	// (workspace.ProjectCheck).
	ProjectNamed bool
}

// Run is the whole pre-run phase and the run: check what can fail before
// anything is pulled or built, build the root (the host's, or the image
// with its setup steps and the project's own layer), then resolve one
// Spec for that root and run it.
func (s Session) Run() (*sandbox.Result, error) {
	h, err := host.Current()
	if err != nil {
		return nil, err
	}
	r := s.request()
	mapping, err := s.check(h, r.Profile)
	if err != nil {
		return nil, err
	}
	root, release, err := s.root(h, r.Profile)
	if err != nil {
		return nil, err
	}
	defer release()
	life := s.Lifecycle
	life.Ephemeral = s.Ephemeral // an ephemeral run is not joined by `sandbox shell`
	return launch(h, r, root, launchOptions{mapping: mapping, warn: s.Warn, lifecycle: life, grants: true})
}

// request is the session's request with the working directory it runs in.
func (s Session) request() Request {
	r := s.Request
	r.Profile = s.Profile.Clone()
	r.Profile.Workdir = s.workdir(r.Profile.Workdir)
	return r
}

// check refuses what would fail later, before anything is pulled or
// built: a project that is no project, ids the host cannot map, limits
// that need a cgroup the host cannot give. A re-exec into a systemd
// scope, when that gives one, also comes before any other side effect.
func (s Session) check(h host.Host, p *profiles.Profile) (*userns.Mapping, error) {
	runDir, _ := runs.RuntimeDir()
	if err := workspace.CheckProject(s.Project, h, workspace.ProjectCheck{RunDir: runDir, Named: s.ProjectNamed}); err != nil {
		return nil, err
	}
	if err := workspace.CheckProfileLink(s.Project, s.ProfileFile); err != nil {
		return nil, err
	}
	mapping, err := runMapping(h, p, false)
	if err != nil {
		return nil, err
	}
	return mapping, checkCgroup(p.Limits)
}

// root builds the root the session runs on: the host's, or the profile's
// image with its setup steps and the project's sandbox layer, locked
// until release.
func (s Session) root(h host.Host, p *profiles.Profile) (Root, func(), error) {
	if p.Image == "" {
		return HostRoot{}, func() {}, nil
	}
	return s.imageRoot(h, p)
}

// workdir is the profile's working directory, or, when it leaves it at
// the project root and `sandbox` runs in a subdirectory of the project,
// that subdirectory.
func (s Session) workdir(profileDir string) string {
	rel, err := filepath.Rel(s.Project, s.Cwd)
	if err == nil && profileDir == "." && rel != ".." && !strings.HasPrefix(rel, "../") {
		return rel
	}
	return profileDir
}

// terminalSize is the user's terminal's size, for a run with a PTY.
func terminalSize(terminal bool) console.Size {
	var size console.Size
	if terminal {
		size, _ = console.GetSize(int(os.Stdin.Fd()))
	}
	return size
}

// cgroupFor acquires the run's cgroup when its limits need one.
func cgroupFor(l profiles.Limits, warn func(string)) (*cgroup.Manager, error) {
	if !l.NeedsCgroup() {
		return nil, nil
	}
	cg, err := acquireCgroup(l, warn)
	if errors.Is(err, cgroup.ErrReexec) {
		return nil, reexecInScope()
	}
	return cg, err
}
