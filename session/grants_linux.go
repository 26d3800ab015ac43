package session

import (
	"sandbox/devices"
	"sandbox/host"
	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/sandbox"
)

// addGrants resolves the profile's devices and forwards against the host
// (package devices) and adds them to spec. Without any, spec is left
// exactly as it was: no node, socket or variable appears that the profile
// did not ask for.
func addGrants(spec *sandbox.Spec, p *profiles.Profile, h host.Host, files string) error {
	g, err := devices.Resolve(devices.Request{
		Devices: p.Devices, Forward: p.Forward, Host: h, UID: spec.Process.UID, Files: files,
		OnImage: len(spec.Mounts) > 0 && spec.Mounts[0].Kind == mounts.Overlay,
	})
	if err != nil || g == nil {
		return err
	}
	spec.Mounts = spec.Mounts.With(g.Mounts...)
	spec.Process.Env = devices.WithEnv(spec.Process.Env, g.Env, p.Env)
	spec.KeepGroups = g.KeepGroups
	return nil
}
