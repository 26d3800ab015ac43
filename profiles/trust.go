package profiles

import (
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
// sandbox that rewrote it) needs trust again, and with the hash of the
// grants that content expanded to when trusted (GrantsDigest), so that a
// mount source = "$CACHE_DIR" that names another host path later needs
// trust again too. Each trusted profile is one file,
// Dir/trusted/SHA256(path), holding "sha256:HEX PATH" and a line
// "grants sha256:HEX".
type TrustStore struct {
	Dir string // $XDG_CONFIG_HOME/sandbox
}

// TrustEntry is one trusted profile.
type TrustEntry struct {
	Path   string `json:"path"`
	Digest string `json:"digest"` // sha256:HEX of the content trusted
	// Grants is GrantsDigest of the grants the content expanded to when
	// trusted; "" in a record written before sandbox kept it.
	Grants string `json:"grants,omitempty"`
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

// GrantsDigest is the hash of a grants list as trust records it: each
// grant's kind, what it names and its absolute host path, in order.
func GrantsDigest(gs []Grant) string {
	h := sha256.New()
	for _, g := range gs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", g.Kind, g.What, g.Path)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Lookup returns what is recorded for path; a zero Digest if nothing is.
func (s TrustStore) Lookup(path string) (TrustEntry, error) {
	b, err := os.ReadFile(s.file(path))
	if errors.Is(err, os.ErrNotExist) {
		return TrustEntry{}, nil
	}
	if err != nil {
		return TrustEntry{}, fmt.Errorf("reading trust of %s: %w", path, err)
	}
	e := parseTrust(string(b))
	if e.Path != filepath.Clean(path) {
		return TrustEntry{}, nil
	}
	return e, nil
}

// parseTrust reads a record: "DIGEST PATH", then "grants DIGEST".
func parseTrust(s string) TrustEntry {
	first, rest, _ := strings.Cut(s, "\n")
	var e TrustEntry
	e.Digest, e.Path, _ = strings.Cut(first, " ")
	for _, line := range strings.Split(rest, "\n") {
		if v, ok := strings.CutPrefix(line, "grants "); ok {
			e.Grants = strings.TrimSpace(v)
		}
	}
	return e
}

// Trust records e (path, content digest, grants digest) as trusted,
// replacing what was recorded for its path before (temp file, then
// rename).
func (s TrustStore) Trust(e TrustEntry) error {
	path := e.Path
	f := s.file(path)
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return fmt.Errorf("recording trust: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f), ".trust-*")
	if err != nil {
		return fmt.Errorf("recording trust: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%s %s\ngrants %s\n", e.Digest, filepath.Clean(path), e.Grants)
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
	s.clearPlanted(path)
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
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || len(b) == 0 {
			continue
		}
		out = append(out, parseTrust(string(b)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
