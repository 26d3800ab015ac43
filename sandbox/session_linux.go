package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sandbox/cgroup"
	"sandbox/console"
	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/profiles"
	"sandbox/workspace"
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
	// Shell: this is `sandbox shell` (no command means the shell, also on
	// an image with a command of its own).
	Shell bool
	// Insecure allows plain HTTP and unverified TLS for the image's
	// registry (--tls-verify=false).
	Insecure bool
	// Progress, if set, shows the pull of a missing image.
	Progress func(imagestore.Progress)
	// Announce, if set, prints a setup step's header.
	Announce func(string)
	// ProfileFile names the profile in errors (setup steps' lines).
	ProfileFile string
	// Locked: the image and every setup step must match sandbox.lock
	// (--locked, SANDBOX_LOCKED=1).
	Locked bool
	// Lifecycle names the run and says where its output goes.
	Lifecycle Lifecycle

	// imageRoot, if set, is the root to run on as it is (a setup step).
	imageRoot *ImageRoot
}

// Run resolves the session against this host and runs it.
func (s Session) Run() (*Result, error) {
	o, release, err := s.prepare()
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := Run(*o)
	var ee *ExecError
	if errors.As(err, &ee) && ee.Code == ExitNotFound && len(o.Spec.Process.Args) > 0 {
		if host, herr := host.Current(); herr == nil {
			ee.Fix = notFoundHint(o.Spec.Process.Args[0], o.Spec, s.imageName(), host)
		}
	}
	return res, err
}

// imageName is the image the session runs on, "" on the host base.
func (s Session) imageName() string {
	if s.imageRoot != nil {
		return s.imageRoot.Ref
	}
	return s.Profile.Image
}

// prepare resolves everything Run needs. What it creates on the way (the
// run's files directory, a cgroup) is removed again if it fails.
func (s Session) prepare() (o *RunOptions, release func(), err error) {
	release = func() {}
	host, err := host.Current()
	if err != nil {
		return nil, release, err
	}
	runDir, _ := RuntimeDir()
	if err := workspace.CheckProject(s.Project, host, runDir); err != nil {
		return nil, release, err
	}
	p := *s.Profile.Clone()
	mapping, err := runMapping(host, &p, s.imageRoot != nil)
	if err != nil {
		return nil, release, err
	}
	p.Workdir = s.workdir(p.Workdir)
	cg, err := s.cgroupFor(p.Limits)
	if err != nil {
		return nil, release, err
	}
	defer func() {
		if err != nil && cg != nil {
			cg.Destroy()
		}
	}()
	var projUpper, projWork string
	if p.Project == "overlay" && !s.Ephemeral {
		var releaseProject func()
		if projUpper, projWork, releaseProject, err = workspace.PrepareProjectOverlay(host, s.Project); err != nil {
			return nil, release, err
		}
		releaseImage := release
		release = func() { releaseProject(); releaseImage() }
		defer func() {
			if err != nil {
				release()
			}
		}()
	}
	// Before the run's files: setup steps are runs of this process too.
	image := s.imageRoot
	if image == nil && p.Image != "" {
		if image, release, err = s.prepareImage(host, &p); err != nil {
			return nil, release, err
		}
		defer func() {
			if err != nil {
				release()
			}
		}()
	}
	files, err := RunFilesDir()
	if err != nil {
		return nil, release, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(files)
		}
	}()
	netOpts, err := netOptions(p.Network, files)
	if err != nil {
		return nil, release, err
	}
	spec, err := NewSpec(Options{
		Profile: &p, Project: s.Project, Args: s.Args, Terminal: s.Terminal,
		Size: s.terminalSize(), Ephemeral: s.Ephemeral, Mapping: mapping, Host: host, Files: files,
		Image: image, Shell: s.Shell, ProjectUpper: projUpper, ProjectWork: projWork,
	})
	if err != nil {
		return nil, release, err
	}
	if s.imageRoot == nil { // setup steps build cached layers: no host doors
		if err := addGrants(spec, &p, host, files); err != nil {
			return nil, release, err
		}
	}
	spec.Process.Rlimits = rlimits(p.Limits)
	spec.PidsMax = p.Limits.Pids
	return &RunOptions{Spec: spec, Mapping: mapping, Project: s.Project, Cgroup: cg, Net: netOpts, Timeout: parseTimeout(p.Limits), Lifecycle: s.lifecycle()}, release, nil
}

// cgroupFor acquires the run's cgroup when its limits need one. It comes
// first in prepare: a re-exec in a systemd scope must come before any
// other side effect.
func (s Session) cgroupFor(l profiles.Limits) (*cgroup.Manager, error) {
	if !l.NeedsCgroup() {
		return nil, nil
	}
	cg, err := acquireCgroup(l, s.Warn)
	if errors.Is(err, errReexec) {
		return nil, reexecInScope()
	}
	return cg, err
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

// lifecycle is the run's record keeping: an ephemeral run, or a setup
// step's, keeps no record of its own.
func (s Session) lifecycle() Lifecycle {
	life := s.Lifecycle
	life.Ephemeral = s.Ephemeral || s.imageRoot != nil
	return life
}

// terminalSize is the user's terminal's size, for a run with a PTY.
func (s Session) terminalSize() console.Size {
	var size console.Size
	if s.Terminal {
		size, _ = console.GetSize(int(os.Stdin.Fd()))
	}
	return size
}

// prepareImage gets the profile's image (pulling it if missing) and the
// project's sandbox on it, locked until release.
func (s Session) prepareImage(host host.Host, p *profiles.Profile) (*ImageRoot, func(), error) {
	nothing := func() {}
	imgs, err := imageworker.Open(host)
	if err != nil {
		return nil, nothing, err
	}
	defer imgs.Close()
	img, err := s.resolveImage(imgs, p)
	if err != nil {
		return nil, nothing, err
	}
	if len(p.Setup) > 0 || s.Locked {
		announce := s.Announce
		if announce == nil {
			announce = func(string) {}
		}
		if img, _, err = s.buildSteps(imgs, host, p, img, announce); err != nil {
			return nil, nothing, err
		}
	}
	root := &ImageRoot{Ref: img.Ref, Config: img.Config, Layers: img.Dirs(), Driver: os.Getenv("SANDBOX_OVERLAY")}
	if s.Ephemeral {
		return root, nothing, nil
	}
	st, err := workspace.OpenSandbox(host, s.Project, img, workspace.Mountpoints(host, p, s.Project))
	if err != nil {
		return nil, nothing, err
	}
	if st.Head() != "" {
		// The sandbox stands on a commit of its own.
		head, err := imgs.Get(st.Head())
		if err != nil {
			st.Close()
			return nil, nothing, fmt.Errorf("the sandbox's last commit %.19s: %w (sandbox rollback base goes back to the image)", st.Head(), err)
		}
		root.Config, root.Layers = head.Config, head.Dirs()
	}
	if err := imgs.AddUse(imagestore.Use{ID: workspace.ID(s.Project), Project: s.Project, Digest: st.Digest()}); err != nil {
		st.Close()
		return nil, nothing, err
	}
	root.Upper, root.Work = st.Upper(), st.Work()
	return root, st.Close, nil
}

// resolveImage gets the profile's image: pinned by sandbox.lock, pulled if
// missing.
func (s Session) resolveImage(imgs *imageworker.Images, p *profiles.Profile) (*imagestore.Image, error) {
	return imgs.Resolve(context.Background(), imageworker.Request{Ref: p.Image, Insecure: Insecure(p, p.Image, s.Insecure), Progress: s.Progress, Project: s.Project})
}
