package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"sandbox/cgroup"
	"sandbox/console"
	"sandbox/profiles"
	"sandbox/userns"
)

// Session is one `sandbox run` or `sandbox shell` as the CLI asks for it.
type Session struct {
	Profile   *profiles.Profile
	Project   string
	Args      []string // empty: the profile's shell
	Terminal  bool     // give the payload a PTY
	Ephemeral bool
	// Cwd is the user's working directory. With the profile's default
	// workdir ("."), a Cwd inside the project is kept, so that
	// `cd pkg && sandbox run -- go test .` runs in pkg.
	Cwd string
	// Warn prints a warning for the user (a limit that is not enforced).
	Warn func(string)
}

// Run resolves the session against this host and runs it.
func (s Session) Run() (*Result, error) {
	o, err := s.prepare()
	if err != nil {
		return nil, err
	}
	return Run(*o)
}

// prepare resolves everything Run needs. What it creates on the way (the
// run's files directory, a cgroup) is removed again if it fails.
func (s Session) prepare() (o *RunOptions, err error) {
	host, err := CurrentHost()
	if err != nil {
		return nil, err
	}
	mapping, err := userns.NewMapping(host.Name, host.UID, host.GID)
	if err != nil {
		return nil, err
	}
	p := *s.Profile
	if rel, err := filepath.Rel(s.Project, s.Cwd); err == nil && p.Workdir == "." && rel != ".." && !strings.HasPrefix(rel, "../") {
		p.Workdir = rel
	}
	var cg *cgroup.Manager
	if p.Limits.NeedsCgroup() {
		// First: a re-exec in a systemd scope must come before any other
		// side effect.
		cg, err = acquireCgroup(p.Limits, s.Warn)
		if errors.Is(err, errReexec) {
			return nil, reexecInScope()
		}
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil && cg != nil {
				cg.Destroy()
			}
		}()
	}
	files, err := RunFilesDir()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(files)
		}
	}()
	netOpts, err := netOptions(p.Network, files)
	if err != nil {
		return nil, err
	}
	var size console.Size
	if s.Terminal {
		size, _ = console.GetSize(int(os.Stdin.Fd()))
	}
	spec, err := NewSpec(Options{
		Profile: &p, Project: s.Project, Args: s.Args, Terminal: s.Terminal,
		Size: size, Ephemeral: s.Ephemeral, Mapping: mapping, Host: host, Files: files,
	})
	if err != nil {
		return nil, err
	}
	spec.Process.Rlimits = rlimits(p.Limits)
	return &RunOptions{Spec: spec, Mapping: mapping, Project: s.Project, Cgroup: cg, Net: netOpts, Timeout: parseTimeout(p.Limits)}, nil
}
