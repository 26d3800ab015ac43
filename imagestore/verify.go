package imagestore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// CorruptError is a stored blob whose content no longer matches its
// digest: the store was damaged after the blob was verified.
type CorruptError struct {
	Digest string
	Path   string
	Got    string // the content's digest, or "" for a wrong size
}

func (e *CorruptError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("stored blob %s is damaged: %s has the wrong size", short(e.Digest), e.Path)
	}
	return fmt.Sprintf("stored blob %s is damaged: the content of %s hashes to %s", short(e.Digest), e.Path, short(e.Got))
}

// Hint says what to do.
func (e *CorruptError) Hint() string {
	return "the local image store is damaged (disk or a stray write), not the image: run `sandbox fsck --repair` to fetch it again"
}

// verifyBlob hashes a stored blob against its digest (and size, unless -1).
func (s *Store) verifyBlob(digest string, size int64) error {
	p := s.blobPath(digest)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if size >= 0 && n != size {
		return &CorruptError{Digest: digest, Path: p}
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return &CorruptError{Digest: digest, Path: p, Got: got}
	}
	return nil
}

// verifyImage hashes every blob of a stored image: its manifest, its
// config and its layers.
func (s *Store) verifyImage(img *Image) error {
	if err := s.verifyBlob(img.Digest, -1); err != nil {
		return err
	}
	m, _, err := s.readManifest(img.Digest)
	if err != nil {
		return err
	}
	if err := s.verifyBlob(m.Config.Digest.String(), m.Config.Size); err != nil {
		return err
	}
	for _, l := range img.Layers {
		if err := s.verifyBlob(l.Digest, l.Size); err != nil {
			return err
		}
	}
	return nil
}
