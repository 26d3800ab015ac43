package session

import (
	"fmt"
	"strings"
	"time"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/profiles"
	"sandbox/sandbox"
)

// maxLayerDiffs is how many differing paths a LockError shows: enough to
// see the culprit (a timestamp file, a cache), short enough to read.
const maxLayerDiffs = 10

// keyNote says what a cache key covers, for a key that does not match.
const keyNote = "the key covers the parent layer, command, user, env, hostname, network settings, mounts, the content of the inputs, SOURCE_DATE_EPOCH (else the image's creation time), the platform and the layer format: one of them differs from the build that wrote the lock"

// stepAt names a setup step in messages.
type stepAt struct {
	N, Of int
	File  string
	Line  int
	Run   string
}

func (a stepAt) String() string {
	if a.File == "" {
		return fmt.Sprintf("setup step %d/%d", a.N, a.Of)
	}
	return fmt.Sprintf("setup step %d/%d (%s:%d)", a.N, a.Of, a.File, a.Line)
}

// LockError is a setup step whose cache key or layer is not the one
// sandbox.lock records, in a --locked build.
type LockError struct {
	Step      stepAt
	What      string // "cache key" or "layer"
	Want, Got string
	Note      string // why, or how the diff below was made
	// Diffs are the first paths where the layers differ.
	Diffs []imagestore.LayerDiff
	More  int // further differing paths not in Diffs
}

func (e *LockError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s does not match %s: %s\n", e.Step, profiles.LockFileName, e.Step.Run)
	fmt.Fprintf(&b, "  expected %s %s (%s)\n", e.What, e.Want, profiles.LockFileName)
	fmt.Fprintf(&b, "  actual   %s %s (this build)", e.What, e.Got)
	if e.Note != "" {
		fmt.Fprintf(&b, "\n%s", e.Note)
	}
	for _, d := range e.Diffs {
		fmt.Fprintf(&b, "\n  %s: %s", d.Path, d.What)
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", e.More)
	}
	return b.String()
}

// Hint says how to go on.
func (e *LockError) Hint() string {
	return "if the change is meant, run `sandbox build` without --locked and commit " + profiles.LockFileName +
		"; a step that differs on each build writes something unpinned (a time, a random value, a download): see the guide's Reproducibility section"
}

// lockedSteps is the lock a --locked build must match: it must exist, pin
// base (Resolve already took the pinned digest) and record the profile's
// steps in order.
func (s Session) lockedSteps(p *profiles.Profile, base *imagestore.Image) (*profiles.Lock, error) {
	fix := "run `sandbox lock` and `sandbox build` without --locked, then commit " + profiles.LockFileName
	lock, err := profiles.ReadLock(s.Project)
	if err != nil {
		return nil, err
	}
	if lock == nil || lock.Image.Digest == "" {
		return nil, &sandbox.SetupError{Msg: fmt.Sprintf("--locked: %s has no %s pinning its image", s.Project, profiles.LockFileName), Fix: fix}
	}
	if lock.Image.Digest != base.RefDigest && lock.Image.Digest != base.Digest {
		return nil, &sandbox.SetupError{Msg: fmt.Sprintf("--locked: the image is %s, %s pins %s", base.RefDigest, profiles.LockFileName, lock.Image.Digest), Fix: fix}
	}
	if len(lock.Steps) != len(p.Setup) {
		return nil, &sandbox.SetupError{Msg: fmt.Sprintf("--locked: the profile has %d setup steps, %s records %d", len(p.Setup), profiles.LockFileName, len(lock.Steps)), Fix: fix}
	}
	for i, st := range p.Setup {
		if lock.Steps[i].Run != st.Run {
			at := stepAt{N: i + 1, Of: len(p.Setup), File: s.ProfileFile, Line: st.Line}
			return nil, &sandbox.SetupError{Msg: fmt.Sprintf("--locked: %s runs %q, %s records %q", at, st.Run, profiles.LockFileName, lock.Steps[i].Run), Fix: fix}
		}
	}
	return lock, nil
}

// stepCheck is a built step to hold against its locked record.
type stepCheck struct {
	s      Session
	imgs   *imageworker.Images
	host   host.Host
	sp     *profiles.Profile // the step's stepProfile
	parent *imagestore.Image
	st     profiles.Step
	key    string
	epoch  time.Time
	at     stepAt
}

// verify returns a *LockError when img's top layer is not want's. It
// shows where they differ: against the lock's layer when this store has
// it, else against a second build of the step here, which finds a step
// that differs on every build (the lock's layer was built elsewhere).
func (c stepCheck) verify(img *imagestore.Image, want profiles.LockedStep, announce func(string)) error {
	top := img.Layers[len(img.Layers)-1]
	if top.Digest == want.Layer && top.DiffID == want.DiffID {
		return nil
	}
	e := &LockError{Step: c.at, What: "layer", Want: want.Layer, Got: top.Digest}
	var diffs []imagestore.LayerDiff
	var err error
	if c.imgs.HasBlob(want.Layer) {
		e.Note = "paths that differ (first: the lock's layer, second: this build):"
		diffs, err = c.imgs.DiffLayers(want.Layer, top.Digest)
	} else {
		ref := "sandbox.local/setup-check:" + c.key
		announce(fmt.Sprintf("==> %s again, to see what differs: %s", c.at, c.st.Run))
		var again *imagestore.Image
		if again, err = c.s.runStep(c.imgs, c.host, c.sp, c.parent, c.st, ref, c.epoch); err != nil {
			return fmt.Errorf("%w\n(building it again to compare: %v)", e, err)
		}
		second := again.Layers[len(again.Layers)-1].Digest
		if second == top.Digest {
			e.Note = "a second build here gives the same layer: the step depends on something outside its key that differs from the machine that wrote the lock (a download, the host, the project's path)"
			return e
		}
		e.Note = fmt.Sprintf("the step gives another layer on each build (the second is kept as %s); paths that differ (first: this build, second: the second build):", ref)
		diffs, err = c.imgs.DiffLayers(top.Digest, second)
	}
	if err != nil {
		return fmt.Errorf("%w\n(comparing the layers: %v)", e, err)
	}
	if len(diffs) == 0 {
		e.Note = "the layers hold the same entries: only their compression differs (another sandbox version?)"
	}
	e.Diffs, e.More = diffs[:min(len(diffs), maxLayerDiffs)], max(0, len(diffs)-maxLayerDiffs)
	return e
}
