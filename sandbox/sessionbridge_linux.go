package sandbox

import (
	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/mounts"
	"sandbox/profiles"
)

// This file is package session's door into the parts of sandbox that
// other issue-12 branches move to packages of their own: devices
// (AddGrants), network (NetworkOptions, NetworkFiles, HostAddresses) and
// workspace (homes, caches, the project overlay, protected paths, the
// project's sandbox layer). Each is a thin wrapper; when the branches
// merge, session calls the new homes and this file goes.

// AddGrants adds the profile's devices and forwards to spec (addGrants).
func AddGrants(spec *Spec, p *profiles.Profile, h host.Host, files string) error {
	return addGrants(spec, p, h, files)
}

// CacheMounts binds the profile's shared caches under home (cacheMounts).
func CacheMounts(p *profiles.Profile, h host.Host, home string) (mounts.Plan, map[string]string, error) {
	return cacheMounts(p, h, home)
}

// TouchHome records that project's home was used now (touchHome).
func TouchHome(homeDir, project string) { touchHome(homeDir, project) }

// ProtectOps are the mounts that keep the protected paths read-only
// (protectOps).
func ProtectOps(p *profiles.Profile, project string, binds mounts.Plan) mounts.Plan {
	return protectOps(p, project, binds)
}

// Mountpoints are the paths a run creates in the upper layer to mount on
// (mountpoints).
func Mountpoints(h host.Host, p *profiles.Profile, project string) []string {
	return mountpoints(h, p, project)
}

// PrepareProjectOverlay locks the project overlay for a run
// (prepareProjectOverlay).
func PrepareProjectOverlay(h host.Host, project string) (upper, work string, release func(), err error) {
	return prepareProjectOverlay(h, project)
}

// ProjectLayer is a project's sandbox on an image (sandboxState), locked
// until Close.
type ProjectLayer struct{ st *sandboxState }

// OpenProjectLayer opens and locks project's sandbox on img (openSandbox).
func OpenProjectLayer(h host.Host, project string, img *imagestore.Image, ignore []string) (*ProjectLayer, error) {
	st, err := openSandbox(h, project, img, ignore)
	if err != nil {
		return nil, err
	}
	return &ProjectLayer{st}, nil
}

// Head is the commit the sandbox stands on, "" for its image.
func (l *ProjectLayer) Head() string { return l.st.info.Head }

// Digest is the manifest digest the sandbox stands on.
func (l *ProjectLayer) Digest() string { return l.st.info.head() }

// Upper and Work are the sandbox's own layer.
func (l *ProjectLayer) Upper() string { return l.st.upper() }

// Work is the overlay's work directory beside Upper.
func (l *ProjectLayer) Work() string { return l.st.work() }

// Close unlocks the sandbox.
func (l *ProjectLayer) Close() { l.st.close() }
