package profiles

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// TrustStore records the profiles a user trusted, the way direnv's `allow`
// does: by path and content hash, so that a changed profile (a pull, or a
// sandbox that rewrote it) needs trust again. Each trusted profile is one
// file, Dir/trusted/SHA256(path), holding "sha256:HEX PATH".
type TrustStore struct {
	Dir string // $XDG_CONFIG_HOME/sandbox
}

// TrustEntry is one trusted profile.
type TrustEntry struct {
	Path   string `json:"path"`
	Digest string `json:"digest"` // sha256:HEX of the content trusted
}

// DefaultTrustStore is the store under $XDG_CONFIG_HOME/sandbox (else
// ~/.config/sandbox).
func DefaultTrustStore() (TrustStore, error) {
	dir, err := ConfigDir()
	return TrustStore{Dir: dir}, err
}

// ConfigDir is the tool's configuration directory: $XDG_CONFIG_HOME/sandbox,
// else ~/.config/sandbox.
func ConfigDir() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "sandbox"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the configuration directory: %w", err)
	}
	return filepath.Join(home, ".config", "sandbox"), nil
}

// Digest is the content hash trust records.
func Digest(content []byte) string {
	sum := sha256.Sum256(content)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (s TrustStore) file(path string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(path)))
	return filepath.Join(s.Dir, "trusted", hex.EncodeToString(sum[:16]))
}

// Lookup returns the digest recorded for path, or "" if none is.
func (s TrustStore) Lookup(path string) (string, error) {
	b, err := os.ReadFile(s.file(path))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading trust of %s: %w", path, err)
	}
	digest, recorded, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if recorded != filepath.Clean(path) {
		return "", nil
	}
	return digest, nil
}

// Trust records digest as the trusted content of the profile at path,
// replacing what was recorded before (temp file, then rename).
func (s TrustStore) Trust(path, digest string) error {
	f := s.file(path)
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return fmt.Errorf("recording trust: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f), ".trust-*")
	if err != nil {
		return fmt.Errorf("recording trust: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%s %s\n", digest, filepath.Clean(path))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("recording trust of %s: %w", path, err)
	}
	return nil
}

// Revoke forgets the trust of the profile at path; false if there was none.
func (s TrustStore) Revoke(path string) (bool, error) {
	err := os.Remove(s.file(path))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("revoking trust of %s: %w", path, err)
	}
	return true, nil
}

// List returns the trusted profiles, by path.
func (s TrustStore) List() ([]TrustEntry, error) {
	dir := filepath.Join(s.Dir, "trusted")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing trusted profiles: %w", err)
	}
	var out []TrustEntry
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		if sc.Scan() {
			digest, path, _ := strings.Cut(sc.Text(), " ")
			out = append(out, TrustEntry{Path: path, Digest: digest})
		}
		f.Close()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
