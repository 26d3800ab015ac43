package session

import (
	"golang.org/x/sys/unix"

	"sandbox/host"
	"sandbox/profiles"
	"sandbox/userns"
)

// RunMapping picks the id layout of a run's outer user namespace. A run
// that needs no id but the user's own gets the single-id map, written by
// this process itself as bubblewrap does: newuidmap and newgidmap are two
// setuid execs on every start (issue 18 measured ~2 ms of a 16 ms start).
// Runs that need the subordinate range keep it.
func runMapping(h host.Host, p *profiles.Profile, onImage bool) (*userns.Mapping, error) {
	if ownIDsSuffice(h, p, onImage) {
		return userns.SelfOnly(h.UID, h.GID), nil
	}
	return userns.NewMapping(h.Name, h.UID, h.GID)
}

// ownIDsSuffice reports whether the single-id map gives the run exactly
// what the full one would. It does not for an image (its files belong to
// many owners), user = "root" (files of other owners must keep theirs),
// nested user namespaces (podman inside maps a range of its own), or
// devices (their keep-groups grant stays on the layout it was tested on).
// And a single-id namespace denies setgroups, so the payload cannot drop
// the user's supplementary groups as it does on the full map: that is only
// the same when the user has no group but the primary one.
func ownIDsSuffice(h host.Host, p *profiles.Profile, onImage bool) bool {
	if onImage || p.Image != "" || p.User == "root" || len(p.Devices) > 0 || p.Security.NestedUserns {
		return false
	}
	groups, err := unix.Getgroups()
	if err != nil {
		return false
	}
	for _, g := range groups {
		if g != h.GID {
			return false
		}
	}
	return true
}
