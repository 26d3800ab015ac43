package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
)

// LockFileName is the lockfile beside sandbox.toml: it pins what the
// profile names loosely (an image tag) to content digests, so that every
// teammate and CI machine gets the same sandbox. Commit it.
const LockFileName = "sandbox.lock"

// Lock is the decoded sandbox.lock.
type Lock struct {
	Image LockedImage `toml:"image"`
	// Steps are the setup steps' layers as last built here: a record to
	// compare across machines (reproducible steps give the same digests).
	Steps []LockedStep `toml:"steps,omitempty"`
}

// LockedStep is one built setup step.
type LockedStep struct {
	Run    string `toml:"run"`
	Key    string `toml:"key"`   // the cache key
	Layer  string `toml:"layer"` // the layer's digest
	DiffID string `toml:"diff_id"`
}

// LockedImage pins the profile's image.
type LockedImage struct {
	// Ref is the profile's image reference, normalized.
	Ref string `toml:"ref"`
	// Digest is what Ref resolved to when locked: a multi-platform index
	// (each machine then takes its own platform's image) or a manifest.
	Digest string `toml:"digest"`
}

// ReadLock reads the lockfile in dir; (nil, nil) when there is none.
func ReadLock(dir string) (*Lock, error) {
	name := filepath.Join(dir, LockFileName)
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	md, err := toml.Decode(string(data), &l)
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error(), Suggest: "regenerate it with sandbox lock --update"}
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, &Error{File: name, Msg: fmt.Sprintf("unknown key %q", und[0].String()), Suggest: "regenerate it with sandbox lock --update"}
	}
	return &l, nil
}

// WriteLock writes the lockfile in dir atomically.
func WriteLock(dir string, l *Lock) error {
	var buf bytes.Buffer
	buf.WriteString("# Written by `sandbox lock`: pins the profile's image to a digest. Commit it.\n")
	if err := toml.NewEncoder(&buf).Encode(l); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".sandbox.lock-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, LockFileName))
}
