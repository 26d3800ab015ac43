package profiles

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A profile that appeared in a project during a sandbox run, where none
// was when it started, may have been written by the sandbox: a run on the
// built-in profile cannot protect a sandbox.toml that does not exist yet.
// Such a profile is marked planted (Dir/planted/SHA256(path): its content
// digest) and runs only once the user trusts it, grants or not.

func (s TrustStore) plantedFile(path string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(path)))
	return filepath.Join(s.Dir, "planted", hex.EncodeToString(sum[:16]))
}

// MarkPlanted records that the profile at path, with content digest,
// appeared during a sandbox run.
func (s TrustStore) MarkPlanted(path, digest string) error {
	f := s.plantedFile(path)
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return fmt.Errorf("recording a profile written during a run: %w", err)
	}
	if err := os.WriteFile(f, []byte(digest+"\n"), 0o600); err != nil {
		return fmt.Errorf("recording a profile written during a run: %w", err)
	}
	return nil
}

// Planted is the content digest recorded by MarkPlanted for path, "" if
// none.
func (s TrustStore) Planted(path string) (string, error) {
	b, err := os.ReadFile(s.plantedFile(path))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", s.plantedFile(path), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// clearPlanted forgets the mark: the user trusted the profile.
func (s TrustStore) clearPlanted(path string) {
	os.Remove(s.plantedFile(path))
}
