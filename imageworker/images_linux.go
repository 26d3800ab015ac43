package imageworker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/profiles"
	"sandbox/userns"
)

// Images is the user's image store with the unpacker that suits the
// user: Close it when done.
type Images struct {
	*imagestore.Store
	unpacker imagestore.Unpacker
	// Degraded, when set, says why images lose their files' owners.
	Degraded string
}

// Open opens the image store under $XDG_DATA_HOME/sandbox/images,
// with the limits of LimitsFromEnv.
func Open(h host.Host) (*Images, error) {
	lim, err := LimitsFromEnv()
	if err != nil {
		return nil, err
	}
	return OpenWith(h, lim)
}

// LimitsFromEnv reads the layer limits a user may raise for a trusted
// image: SANDBOX_MAX_LAYER_SIZE (e.g. 64GiB) and SANDBOX_MAX_LAYER_FILES;
// unset ones keep imagestore.DefaultLimits.
func LimitsFromEnv() (imagestore.Limits, error) {
	var lim imagestore.Limits
	if v := os.Getenv("SANDBOX_MAX_LAYER_SIZE"); v != "" {
		n, err := profiles.ParseSize(v)
		if err != nil {
			return lim, fmt.Errorf("SANDBOX_MAX_LAYER_SIZE=%q: %w", v, err)
		}
		lim.LayerBytes = n
	}
	if v := os.Getenv("SANDBOX_MAX_LAYER_FILES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return lim, fmt.Errorf("SANDBOX_MAX_LAYER_FILES=%q is not a positive number", v)
		}
		lim.LayerFiles = n
	}
	return lim, nil
}

// OpenWith opens the image store with the given layer limits (zero
// fields: the defaults).
func OpenWith(h host.Host, lim imagestore.Limits) (*Images, error) {
	mapping, err := userns.NewMapping(h.Name, h.UID, h.GID)
	if err != nil {
		return nil, err
	}
	u := NewUnpacker(mapping)
	s, err := imagestore.Open(filepath.Join(h.DataDir, "images"), imagestore.Options{Unpacker: u, Limits: lim})
	if err != nil {
		return nil, err
	}
	img := &Images{Store: s, unpacker: u}
	if mapping.Degraded != "" {
		img.Degraded = "every file of an image belongs to root inside (" + mapping.Degraded + "); add a range to /etc/subuid and /etc/subgid for real owners"
	}
	return img, nil
}

// Close stops the unpacker's helper, if it was started.
func (i *Images) Close() {
	if u, ok := i.unpacker.(*Unpacker); ok {
		u.Close()
	}
}

// Worker is the unpacker behind the store: the namespaced helper, or
// in-process unpacking in the degraded mode. Per-project state (package
// workspace) asks it for diffs and applies of trees owned by subordinate
// ids.
func (i *Images) Worker() imagestore.Unpacker { return i.unpacker }

// RemoveAll removes a tree the unpacker or a sandbox made (owned by
// subordinate ids).
func (i *Images) RemoveAll(path string) error { return i.unpacker.RemoveAll(path) }

// Request is how a session wants its image.
type Request struct {
	Ref      string
	Insecure bool // --tls-verify=false, or the registry is in insecure_registries
	Progress func(imagestore.Progress)
	Project  string // where sandbox.lock is looked up
}

// Resolve returns the image for req: pinned by sandbox.lock when it names
// this ref, pulled first when missing.
func (i *Images) Resolve(ctx context.Context, req Request) (*imagestore.Image, error) {
	ref, err := imagestore.Normalize(req.Ref)
	if err != nil {
		return nil, err
	}
	lock, err := profiles.ReadLock(req.Project)
	if err != nil {
		return nil, err
	}
	want := ref
	if lock != nil && lock.Image.Ref != "" {
		if lock.Image.Ref != ref {
			return nil, &Error{
				Msg: fmt.Sprintf("%s pins %s, but the profile asks for %s", profiles.LockFileName, lock.Image.Ref, ref),
				Fix: "run `sandbox lock --update` to pin the new image (and commit sandbox.lock)",
			}
		}
		want = imagestore.Repository(ref) + "@" + lock.Image.Digest
	}
	img, err := i.Get(want)
	if errors.Is(err, imagestore.ErrNotFound) {
		img, err = i.Pull(ctx, want, imagestore.PullOptions{Insecure: req.Insecure, Progress: req.Progress})
	}
	return img, err
}
