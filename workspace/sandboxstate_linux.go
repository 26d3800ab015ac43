package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
)

// Sandbox is a project's sandbox on an image: its upper layer (the
// changes not committed yet), the image it stands on, and its commits;
// locked while a run or a change to it uses it.
type Sandbox struct {
	dir  string
	lock *os.File
	info sandboxInfo
}

// sandboxInfo is sandbox.json.
type sandboxInfo struct {
	Project string `json:"project"`
	Ref     string `json:"ref"`    // the profile's image
	Digest  string `json:"digest"` // its manifest digest: the base
	// Head is the image the sandbox stands on: "" (the base) or a commit.
	Head    string       `json:"head,omitempty"`
	Commits []commitInfo `json:"commits,omitempty"` // oldest first
}

type commitInfo struct {
	Digest  string    `json:"digest"`
	Ref     string    `json:"ref"`
	Message string    `json:"message,omitempty"`
	Created time.Time `json:"created"`
}

// head is the manifest digest the sandbox stands on.
func (i sandboxInfo) head() string {
	if i.Head != "" {
		return i.Head
	}
	return i.Digest
}

// Upper is the sandbox's upper layer: its changes not committed yet.
func (s *Sandbox) Upper() string { return filepath.Join(s.dir, "upper") }

// Work is the overlay's work directory beside Upper.
func (s *Sandbox) Work() string { return filepath.Join(s.dir, "work") }

// Head is the commit the sandbox stands on, "" when it stands on the
// profile's image.
func (s *Sandbox) Head() string { return s.info.Head }

// Digest is the manifest digest the sandbox stands on: Head, else the
// profile's image.
func (s *Sandbox) Digest() string { return s.info.head() }

// SandboxDir is where the project's sandbox (its changes to the image) lives.
func SandboxDir(h host.Host, project string) string {
	return filepath.Join(h.DataDir, "sandboxes", ID(project))
}

// OpenSandbox locks the project's sandbox for a run on img (the profile's
// image) and makes its upper and work directories. A sandbox made from
// another image is refused: its changes were made on that image.
func OpenSandbox(h host.Host, project string, img *imagestore.Image, ignore []string) (*Sandbox, error) {
	dir := SandboxDir(h, project)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the sandbox: %w", err)
	}
	st, err := lockState(dir)
	if err != nil {
		return nil, err
	}
	if st.info.Digest != "" && st.info.Digest != img.Digest && len(st.info.Commits) == 0 && clean(st.Upper(), ignore) {
		// Nothing was changed on the old image (a setup step was rebuilt,
		// the lock was updated): move to the new one.
		st.info.Digest, st.info.Ref = "", ""
	}
	if st.info.Digest != "" && st.info.Digest != img.Digest {
		st.Close()
		return nil, &Error{
			Msg: fmt.Sprintf("this project's sandbox holds changes made on %s (%.19s), but the profile now gives %s (%.19s)", st.info.Ref, st.info.Digest, img.Ref, img.Digest),
			Fix: "run `sandbox reset` to discard those changes and start from the new image, or go back to the old image",
		}
	}
	for _, d := range []string{st.Upper(), st.Work()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			st.Close()
			return nil, err
		}
	}
	if st.info.Digest == "" {
		st.info = sandboxInfo{Project: project, Ref: img.Ref, Digest: img.Digest}
		if err := st.save(); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// existingSandbox locks the project's sandbox for a change (commit,
// rollback); it must exist.
func existingSandbox(h host.Host, project string) (*Sandbox, error) {
	dir := SandboxDir(h, project)
	if _, err := os.Stat(filepath.Join(dir, "sandbox.json")); err != nil {
		return nil, &Error{
			Msg: "this project has no sandbox on an image yet",
			Fix: "set image = \"REF\" in sandbox.toml and run the sandbox once (sandbox run -- true)",
		}
	}
	return lockState(dir)
}

// lockState takes the sandbox's lock without waiting (two runs writing one
// upper layer would corrupt it) and reads sandbox.json.
func lockState(dir string) (*Sandbox, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		return nil, &Error{
			Msg: fmt.Sprintf("this project's sandbox is in use (by sandbox pid %s)", string(holder)),
			Fix: "wait for that run to end, or pass --ephemeral to run on a throwaway copy",
		}
	}
	f.Truncate(0)
	f.WriteString(strconv.Itoa(os.Getpid()))
	st := &Sandbox{dir: dir, lock: f}
	data, err := os.ReadFile(filepath.Join(dir, "sandbox.json"))
	if err == nil {
		err = json.Unmarshal(data, &st.info)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		f.Close()
		return nil, fmt.Errorf("reading the sandbox's state %s: %w", filepath.Join(dir, "sandbox.json"), err)
	}
	return st, nil
}

// Close releases the sandbox's lock.
func (s *Sandbox) Close() { s.lock.Close() }

// save writes sandbox.json atomically: a crash leaves the old or the new.
func (s *Sandbox) save() error {
	data, _ := json.MarshalIndent(s.info, "", "  ")
	tmp := filepath.Join(s.dir, ".sandbox.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		f.Sync()
		f.Close()
	}
	return os.Rename(tmp, filepath.Join(s.dir, "sandbox.json"))
}

// clearUpper discards the uncommitted changes: the upper and work
// directories are moved aside (so a crash leaves a clean sandbox or the
// old one), replaced with empty ones, and removed by remove (their files
// belong to subordinate ids).
func (s *Sandbox) clearUpper(remove func(string) error) error {
	// Leftovers of a clear that was killed half-way go too.
	old, _ := filepath.Glob(filepath.Join(s.dir, "trash-*"))
	for _, t := range old {
		_ = remove(t)
	}
	trash := filepath.Join(s.dir, "trash-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Mkdir(trash, 0o700); err != nil {
		return err
	}
	for _, d := range []string{s.Upper(), s.Work()} {
		if err := os.Rename(d, filepath.Join(trash, filepath.Base(d))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	return remove(trash)
}

// clean reports whether an upper layer holds no change but the
// mountpoints a run makes. Anything unreadable counts as a change.
func clean(upper string, ignore []string) bool {
	changes, err := imagestore.Changes(upper, nil, ignore)
	return err == nil && len(changes) == 0
}

// Reset discards the project's sandbox: its changes to the image.
func Reset(h host.Host, project string) (bool, error) {
	dir := SandboxDir(h, project)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	st, err := lockState(dir)
	if err != nil {
		return false, err
	}
	defer st.Close()
	imgs, err := imageworker.Open(h)
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
	return true, imgs.RemoveUse(ID(project))
}
