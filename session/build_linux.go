package session

import (
	"context"
	"fmt"
	"os"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/profiles"
	"sandbox/runs"
	"sandbox/workspace"
)

// imageRoot gets the profile's image (pulling it if missing), builds its
// setup steps, and puts the project's sandbox layer on it, locked until
// release.
func (s Session) imageRoot(host host.Host, p *profiles.Profile) (Root, func(), error) {
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

// Build resolves the profile's image and builds its setup steps, printing
// each step's header with announce; the steps' output streams as in run.
func (s Session) Build(announce func(string)) ([]StepResult, error) {
	host, err := host.Current()
	if err != nil {
		return nil, err
	}
	runDir, _ := runs.RuntimeDir()
	if err := workspace.CheckProject(s.Project, host, workspace.ProjectCheck{RunDir: runDir, Named: s.ProjectNamed}); err != nil {
		return nil, err
	}
	if err := workspace.CheckProfileLink(s.Project, s.ProfileFile); err != nil {
		return nil, err
	}
	// Steps run with the profile's limits: fail (or move into a systemd
	// scope) before pulling anything, as run does.
	if err := checkCgroup(s.Profile.Limits); err != nil {
		return nil, err
	}
	imgs, err := imageworker.Open(host)
	if err != nil {
		return nil, err
	}
	defer imgs.Close()
	base, err := s.resolveImage(imgs, s.Profile)
	if err != nil {
		return nil, err
	}
	_, results, err := s.buildSteps(imgs, host, s.Profile, base, announce)
	if err == nil && !s.Locked { // a locked build matches the lock already
		err = recordSteps(s.Project, results)
	}
	return results, err
}

// recordSteps writes the built steps into sandbox.lock, if there is one.
func recordSteps(project string, results []StepResult) error {
	lock, err := profiles.ReadLock(project)
	if err != nil || lock == nil {
		return err
	}
	lock.Steps = nil
	for _, r := range results {
		top := r.Image.Layers[len(r.Image.Layers)-1]
		lock.Steps = append(lock.Steps, profiles.LockedStep{Run: r.Run, Key: r.Key, Layer: top.Digest, DiffID: top.DiffID})
	}
	return profiles.WriteLock(project, lock)
}
