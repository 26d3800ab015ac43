package session

import (
	"errors"
	"os"

	"sandbox/host"
	"sandbox/network"
	"sandbox/runs"
	"sandbox/sandbox"
	"sandbox/userns"
	"sandbox/workspace"
)

// launchOptions are how a resolved request runs: the ones the user's run
// and a setup step's differ in.
type launchOptions struct {
	mapping   *userns.Mapping
	warn      func(string)
	lifecycle sandbox.Lifecycle
	// grants: add the profile's devices and forwards. A setup step builds
	// a cached layer: it gets no host doors.
	grants bool
}

// launch resolves one Spec for request r on root and runs it: the one
// way every sandbox starts, the user's run and each setup step alike.
func launch(h host.Host, r Request, root Root, lo launchOptions) (*sandbox.Result, error) {
	o, release, err := resolve(h, r, root, lo)
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := sandbox.Run(*o)
	var ee *sandbox.ExecError
	if errors.As(err, &ee) && ee.Code == sandbox.ExitNotFound && len(o.Spec.Process.Args) > 0 {
		// The image the user named: a setup step's root is an internal layer.
		ee.Fix = notFoundHint(o.Spec.Process.Args[0], o.Spec, r.Profile.Image, h)
	}
	return res, err
}

// resolve makes what the run needs beside its root (its cgroup, the
// project overlay, its files directory, the network's parent side) and
// resolves the Spec. What it creates is removed again if it fails.
func resolve(h host.Host, r Request, root Root, lo launchOptions) (o *sandbox.RunOptions, release func(), err error) {
	release = func() {}
	p := r.Profile
	cg, err := cgroupFor(p.Limits, lo.warn)
	if err != nil {
		return nil, release, err
	}
	defer func() {
		if err != nil && cg != nil {
			cg.Destroy()
		}
	}()
	so := Options{Host: h, Mapping: lo.mapping, Root: root, Size: terminalSize(r.Terminal)}
	if p.Project == "overlay" && !r.Ephemeral {
		if so.ProjectUpper, so.ProjectWork, release, err = workspace.PrepareProjectOverlay(h, r.Project); err != nil {
			return nil, func() {}, err
		}
		defer func() {
			if err != nil {
				release()
			}
		}()
	}
	if so.Files, err = runs.FilesDir(); err != nil {
		return nil, release, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(so.Files)
		}
	}()
	so.Net = network.New(p.Network, so.Files)
	spec, err := NewSpec(r, so)
	if err != nil {
		return nil, release, err
	}
	if lo.grants {
		if err := addGrants(spec, p, h, so.Files); err != nil {
			return nil, release, err
		}
	}
	spec.Process.Rlimits = rlimits(p.Limits)
	spec.PidsMax = p.Limits.Pids
	return &sandbox.RunOptions{Spec: spec, Mapping: lo.mapping, Project: r.Project, Cgroup: cg, Net: so.Net, Timeout: parseTimeout(p.Limits), Lifecycle: lo.lifecycle}, release, nil
}
