package session

import (
	"errors"
	"fmt"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/profiles"
)

// CheckLock lists how sandbox.lock differs from what a build would give
// from this store now (none: it matches): the pinned image must be stored,
// and every setup step cached under the key the lock records, with the
// lock's layer. It pulls, builds and writes nothing, so CI can run it
// after a build to hold the result against the committed lock.
func (s Session) CheckLock() ([]string, error) {
	lock, err := profiles.ReadLock(s.Project)
	if err != nil {
		return nil, err
	}
	if lock == nil {
		return []string{fmt.Sprintf("there is no %s in %s", profiles.LockFileName, s.Project)}, nil
	}
	ref, err := imagestore.Normalize(s.Profile.Image)
	if err != nil {
		return nil, err
	}
	if lock.Image.Ref != ref {
		return []string{fmt.Sprintf("the profile's image is %s, %s pins %s", ref, profiles.LockFileName, lock.Image.Ref)}, nil
	}
	host, err := host.Current()
	if err != nil {
		return nil, err
	}
	imgs, err := imageworker.Open(host)
	if err != nil {
		return nil, err
	}
	defer imgs.Close()
	pinned := imagestore.Repository(ref) + "@" + lock.Image.Digest
	base, err := imgs.Get(pinned)
	if errors.Is(err, imagestore.ErrNotFound) {
		return []string{fmt.Sprintf("the pinned image %s is not in this store (sandbox build pulls it)", pinned)}, nil
	}
	if err != nil {
		return nil, err
	}
	return s.checkSteps(imgs, host, lock, base)
}

// checkSteps holds the cached setup steps on base against the lock's,
// stopping at the first step that differs or is not built.
func (s Session) checkSteps(imgs *imageworker.Images, host host.Host, lock *profiles.Lock, base *imagestore.Image) ([]string, error) {
	p := s.Profile
	var problems []string
	if len(lock.Steps) != len(p.Setup) {
		problems = append(problems, fmt.Sprintf("the profile has %d setup steps, %s records %d", len(p.Setup), profiles.LockFileName, len(lock.Steps)))
	}
	epoch, err := clampTime(base)
	if err != nil {
		return nil, err
	}
	parent := base
	for i, st := range p.Setup[:min(len(p.Setup), len(lock.Steps))] {
		at := stepAt{N: i + 1, Of: len(p.Setup), File: s.ProfileFile, Line: st.Line}
		want := lock.Steps[i]
		if want.Run != st.Run {
			return append(problems, fmt.Sprintf("%s runs %q, %s records %q", at, st.Run, profiles.LockFileName, want.Run)), nil
		}
		key, err := stepKey(stepKeyInput{parent: parent.Digest, step: st, profile: stepProfile(p, st), epoch: epoch, host: host, project: s.Project})
		if err != nil {
			return nil, err
		}
		if key != want.Key {
			return append(problems, fmt.Sprintf("%s has cache key %s, %s records %s (%s)", at, key, profiles.LockFileName, want.Key, keyNote)), nil
		}
		img, err := imgs.Get("sandbox.local/setup:" + key)
		if errors.Is(err, imagestore.ErrNotFound) {
			return append(problems, fmt.Sprintf("%s is not built in this store (run sandbox build --locked)", at)), nil
		}
		if err != nil {
			return nil, err
		}
		top := img.Layers[len(img.Layers)-1]
		if top.Digest != want.Layer || top.DiffID != want.DiffID {
			problems = append(problems, fmt.Sprintf("%s built layer %s here, %s records %s", at, top.Digest, profiles.LockFileName, want.Layer))
		}
		parent = img
	}
	return problems, nil
}
