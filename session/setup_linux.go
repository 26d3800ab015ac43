package session

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/network"
	"sandbox/profiles"
	"sandbox/sandbox"
	"sandbox/workspace"
)

// StepError is a setup step that failed: the run exits with its status.
type StepError struct {
	N, Of int
	File  string
	Line  int
	Run   string
	Code  int
}

func (e *StepError) Error() string {
	where := ""
	if e.File != "" {
		where = fmt.Sprintf(" (%s:%d)", e.File, e.Line)
	}
	return fmt.Sprintf("setup step %d/%d%s failed with exit status %d: %s", e.N, e.Of, where, e.Code, e.Run)
}

// Hint says what stays.
func (e *StepError) Hint() string {
	return "the steps before it stay cached; fix the step and run sandbox build again"
}

// StepResult is one built (or cached) setup step.
type StepResult struct {
	N      int
	Run    string
	Key    string
	Cached bool
	Image  *imagestore.Image
}

// stepKey is a step's cache key: everything its layer depends on that the
// profile and the machine decide. Changing any of it rebuilds the step and
// every step after it (their parent changes). What a step downloads is not
// in it: the guide's Reproducibility section says how to pin that.
func stepKey(k stepKeyInput) (string, error) {
	h := sha256.New()
	// The parent's manifest digest is that of one platform's image; the
	// host's architecture is keyed too, since an emulated run may differ.
	fmt.Fprintf(h, "sandbox-setup-v2\x00%s\x00%s/%s\x00%s\x00", k.parent, runtime.GOOS, runtime.GOARCH, k.step.Run)
	// "self" files and $HOME are this user's: the layer is per user.
	user := stepUser(k.step)
	if user == "self" {
		user = fmt.Sprintf("self:%d:%d:%s", k.host.UID, k.host.GID, k.host.Home)
	}
	fmt.Fprintf(h, "user\x00%s\x00", user)
	// mtimes are clamped to it (see imagestore.PackRequest).
	fmt.Fprintf(h, "epoch\x00%d\x00", k.epoch.Unix())
	// The packer's output for the same tree, and the unpacker's tree for
	// the same parent layers.
	fmt.Fprintf(h, "format\x00%s\x00", imagestore.LayerFormat)
	p := k.profile
	fmt.Fprintf(h, "hostname\x00%s\x00", p.Hostname)
	writeSorted(h, "env", p.Env)
	// What the network lets through can change what a step installs; the
	// backend and forwarded ports cannot.
	fmt.Fprintf(h, "network\x00%s\x00%q\x00%q\x00", p.Network.Mode, p.Network.Allow, p.Network.DNS)
	writeSorted(h, "host", p.Network.Hosts)
	// A bind mount's content is not pinned, but which host path is seen
	// where is.
	for _, m := range p.Mounts {
		fmt.Fprintf(h, "mount\x00%s\x00%s\x00%s\x00%s\x00", m.Type, m.Source, m.Target, m.Mode)
	}
	if err := hashInputs(h, k.project, k.step.Inputs); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stepKeyInput is what stepKey hashes.
type stepKeyInput struct {
	parent  string            // the parent image's manifest digest
	step    profiles.Step     // the step as written
	profile *profiles.Profile // the profile the step runs with (stepProfile)
	epoch   time.Time         // the clamp time (clampTime)
	host    host.Host
	project string
}

func writeSorted(w io.Writer, kind string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s\x00%s=%s\x00", kind, k, m[k])
	}
}

func stepUser(st profiles.Step) string {
	if st.User == "" {
		return "root"
	}
	return string(st.User)
}

// buildSteps runs the profile's setup steps that are not cached, on base,
// and returns the image the last one made (base when there are none).
// announce prints each step's header. With s.Locked, every step must give
// the key and layer sandbox.lock records (*LockError otherwise).
func (s Session) buildSteps(imgs *imageworker.Images, host host.Host, p *profiles.Profile, base *imagestore.Image, announce func(string)) (*imagestore.Image, []StepResult, error) {
	epoch, err := clampTime(base)
	if err != nil {
		return nil, nil, err
	}
	var lock *profiles.Lock
	if s.Locked {
		if lock, err = s.lockedSteps(p, base); err != nil {
			return nil, nil, err
		}
	}
	parent := base
	var results []StepResult
	for i, st := range p.Setup {
		sp := stepProfile(p, st)
		key, err := stepKey(stepKeyInput{parent: parent.Digest, step: st, profile: sp, epoch: epoch, host: host, project: s.Project})
		if err != nil {
			return nil, results, err
		}
		at := stepAt{N: i + 1, Of: len(p.Setup), File: s.ProfileFile, Line: st.Line, Run: st.Run}
		if lock != nil && lock.Steps[i].Key != key {
			return nil, results, &LockError{Step: at, What: "cache key", Want: lock.Steps[i].Key, Got: key, Note: keyNote}
		}
		ref := "sandbox.local/setup:" + key
		res := StepResult{N: i + 1, Run: st.Run, Key: key}
		img, err := imgs.Get(ref)
		if res.Cached = err == nil; res.Cached {
			announce(fmt.Sprintf("==> setup step %d/%d (cached): %s", i+1, len(p.Setup), st.Run))
		} else {
			announce(fmt.Sprintf("==> setup step %d/%d: %s", i+1, len(p.Setup), st.Run))
			if img, err = s.runStep(imgs, host, sp, parent, st, ref, epoch); err != nil {
				if se, ok := err.(*StepError); ok {
					se.N, se.Of, se.File, se.Line = at.N, at.Of, at.File, at.Line
				}
				return nil, results, err
			}
		}
		res.Image = img
		results = append(results, res)
		if lock != nil {
			c := stepCheck{s: s, imgs: imgs, host: host, sp: sp, parent: parent, st: st, key: key, epoch: epoch, at: at}
			if err := c.verify(img, lock.Steps[i], announce); err != nil {
				return nil, results, err
			}
		}
		parent = img
	}
	return parent, results, nil
}

// clampTime is the time a step layer's mtimes are clamped to:
// SOURCE_DATE_EPOCH (reproducible-builds.org), else the base image's
// creation time.
func clampTime(base *imagestore.Image) (time.Time, error) {
	sde := os.Getenv("SOURCE_DATE_EPOCH")
	if sde == "" {
		return base.Created, nil
	}
	n, err := strconv.ParseInt(sde, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, &sandbox.SetupError{Msg: fmt.Sprintf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970", sde), Fix: "set it to a Unix time such as $(git log -1 --format=%ct), or unset it"}
	}
	return time.Unix(n, 0), nil
}

// stepProfile is the profile a step runs with: the step's env over the
// profile's, no variables from the host (TZ or LANG would change what a
// step writes on each machine), and a network even when runs have none.
func stepProfile(p *profiles.Profile, st profiles.Step) *profiles.Profile {
	sp := p.Clone()
	sp.Setup, sp.Project = nil, "bind" // the project is mounted read-only (runStep)
	sp.EnvPassthrough = nil
	for k, v := range st.Env {
		sp.Env[k] = v
	}
	// The profile's network, unless the step sets its own; never its
	// ports (a step serves nothing).
	sp.Network.Ports = nil
	if st.Network != "" && st.Network != sp.Network.Mode {
		sp.Network.Mode = st.Network
		if st.Network != network.Proxy {
			sp.Network.Allow = nil
		}
	}
	return sp
}

// runStep runs one step as a sandbox on parent with a fresh upper layer,
// and commits that layer as ref. sp is its stepProfile. The project is
// read-only to it.
func (s Session) runStep(imgs *imageworker.Images, host host.Host, sp *profiles.Profile, parent *imagestore.Image, st profiles.Step, ref string, epoch time.Time) (*imagestore.Image, error) {
	dir, err := os.MkdirTemp(filepath.Join(imgs.Root(), "tmp"), "step-")
	if err != nil {
		return nil, err
	}
	defer imgs.RemoveAll(dir)
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	sp = sp.Clone()
	sp.Mounts = append(sp.Mounts, profiles.Mount{Source: s.Project, Target: s.Project, Mode: "ro"})
	if err := sp.Apply(profiles.Overrides{User: stepUser(st), Workdir: "."}); err != nil {
		return nil, err
	}
	mapping, err := runMapping(host, sp, true)
	if err != nil {
		return nil, err
	}
	r := Request{Profile: sp, Project: s.Project, Args: []string{"/bin/sh", "-c", st.Run}, ProfileFile: s.ProfileFile}
	root := &ImageRoot{Ref: parent.Ref, Config: parent.Config, Layers: parent.Dirs(), Upper: upper, Work: work, Driver: os.Getenv("SANDBOX_OVERLAY")}
	// A step is no run of the user's: no name, log or "started", and no
	// record `sandbox shell` joins.
	res, err := launch(host, r, root, launchOptions{mapping: mapping, warn: s.Warn, lifecycle: sandbox.Lifecycle{Ephemeral: true}})
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, &StepError{Run: st.Run, Code: res.Code}
	}
	return imgs.Store.Commit(parent, upper, imagestore.CommitOptions{
		Ref: ref, CreatedBy: st.Run, Message: "sandbox setup step",
		Created: epoch, Epoch: epoch, Ignore: workspace.Mountpoints(host, sp, s.Project),
	})
}
