package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

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

// OpenImages opens the image store under $XDG_DATA_HOME/sandbox/images.
// SANDBOX_OVERLAY does not matter here; see doctor.
func OpenImages(h Host) (*Images, error) {
	mapping, err := userns.NewMapping(h.Name, h.UID, h.GID)
	if err != nil {
		return nil, err
	}
	u := NewUnpacker(mapping)
	s, err := imagestore.Open(filepath.Join(h.DataDir, "images"), imagestore.Options{Unpacker: u})
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

// RemoveAll removes a tree the unpacker or a sandbox made (owned by
// subordinate ids).
func (i *Images) RemoveAll(path string) error { return i.unpacker.RemoveAll(path) }

// ImageRequest is how a session wants its image.
type ImageRequest struct {
	Ref      string
	Insecure bool // --tls-verify=false, or the registry is in insecure_registries
	Progress func(imagestore.Progress)
	Project  string // where sandbox.lock is looked up
}

// Resolve returns the image for req: pinned by sandbox.lock when it names
// this ref, pulled first when missing.
func (i *Images) Resolve(ctx context.Context, req ImageRequest) (*imagestore.Image, error) {
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
			return nil, &SetupError{
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

// sandboxState is a project's sandbox on an image: its upper layer,
// locked while a run uses it.
type sandboxState struct {
	dir  string
	lock *os.File
}

type sandboxInfo struct {
	Project string `json:"project"`
	Ref     string `json:"ref"`
	Digest  string `json:"digest"`
}

// SandboxDir is where the project's sandbox (its changes to the image) lives.
func SandboxDir(h Host, project string) string {
	return filepath.Join(h.DataDir, "sandboxes", projectID(project))
}

// openSandbox locks the project's sandbox for a run and makes its upper
// and work directories. A sandbox made from another image is refused: its
// changes were made on that image.
func openSandbox(h Host, project string, img *imagestore.Image) (*sandboxState, error) {
	dir := SandboxDir(h, project)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the sandbox: %w", err)
	}
	lock, err := lockSandbox(dir)
	if err != nil {
		return nil, err
	}
	st := &sandboxState{dir: dir, lock: lock}
	infoPath := filepath.Join(dir, "sandbox.json")
	var info sandboxInfo
	if data, err := os.ReadFile(infoPath); err == nil && json.Unmarshal(data, &info) == nil && info.Digest != img.Digest {
		st.close()
		return nil, &SetupError{
			Msg: fmt.Sprintf("this project's sandbox holds changes made on %s (%.19s), but the profile now gives %s (%.19s)", info.Ref, info.Digest, img.Ref, img.Digest),
			Fix: "run `sandbox reset` to discard those changes and start from the new image, or go back to the old image",
		}
	}
	for _, d := range []string{"upper", "work"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			st.close()
			return nil, err
		}
	}
	data, _ := json.Marshal(sandboxInfo{Project: project, Ref: img.Ref, Digest: img.Digest})
	if err := os.WriteFile(infoPath, data, 0o600); err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

func (s *sandboxState) close() { s.lock.Close() }

// lockSandbox takes the sandbox's lock without waiting: two runs writing
// one upper layer would corrupt it.
func lockSandbox(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		return nil, &SetupError{
			Msg: fmt.Sprintf("this project's sandbox is in use (by sandbox pid %s)", string(holder)),
			Fix: "wait for that run to end, or pass --ephemeral to run on a throwaway copy",
		}
	}
	f.Truncate(0)
	f.WriteString(strconv.Itoa(os.Getpid()))
	return f, nil
}

// Reset discards the project's sandbox: its changes to the image.
func Reset(h Host, project string) (bool, error) {
	dir := SandboxDir(h, project)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	lock, err := lockSandbox(dir)
	if err != nil {
		return false, err
	}
	defer lock.Close()
	imgs, err := OpenImages(h)
	if err != nil {
		return false, err
	}
	defer imgs.Close()
	// Move it aside first: a crash half-way leaves no half-reset sandbox.
	trash := filepath.Join(imgs.Root(), "tmp", "reset-"+filepath.Base(dir)+"-"+strconv.Itoa(os.Getpid()))
	if err := os.Rename(dir, trash); err != nil {
		return false, err
	}
	if err := imgs.RemoveAll(trash); err != nil {
		return true, fmt.Errorf("removing %s: %w", trash, err)
	}
	return true, imgs.RemoveUse(projectID(project))
}
