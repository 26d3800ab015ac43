package imagestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Remove untags refs and then frees what no image needs any more. An image
// a sandbox stands on is refused (*InUseError) unless force.
func (s *Store) Remove(refs []string, force bool) (PruneReport, error) {
	uses, err := s.Uses()
	if err != nil {
		return PruneReport{}, err
	}
	err = s.updateIndex(func(idx *v1.IndexManifest) error {
		for _, ref := range refs {
			key := ref
			if !validDigest(ref) {
				if key, err = Normalize(ref); err != nil {
					return err
				}
			}
			desc, ok := lookup(idx, key)
			if !ok {
				return fmt.Errorf("%s: %w", ref, ErrNotFound)
			}
			if projects := usedBy(uses, desc.Digest.String()); len(projects) > 0 && !force && !taggedTwice(idx, desc) {
				return &InUseError{Ref: ref, Projects: projects}
			}
			out := idx.Manifests[:0]
			for _, m := range idx.Manifests {
				if m.Annotations[annotRef] != desc.Annotations[annotRef] {
					out = append(out, m)
				}
			}
			idx.Manifests = out
		}
		return nil
	})
	if err != nil {
		return PruneReport{}, err
	}
	return s.Prune(false)
}

func usedBy(uses []Use, digest string) []string {
	var out []string
	for _, u := range uses {
		if u.Digest == digest {
			out = append(out, u.Project)
		}
	}
	return out
}

// taggedTwice: another name keeps the same manifest, so untagging one
// takes nothing away from a sandbox.
func taggedTwice(idx *v1.IndexManifest, desc v1.Descriptor) bool {
	n := 0
	for _, m := range idx.Manifests {
		if m.Digest == desc.Digest {
			n++
		}
	}
	return n > 1
}

// PruneReport says what a prune freed.
type PruneReport struct {
	Images []string `json:"images"` // refs removed (prune --all)
	Blobs  int      `json:"blobs"`
	Layers int      `json:"layers"`
	Bytes  int64    `json:"bytes"` // blob bytes freed
}

// Prune removes blobs and unpacked layers that no stored image needs, and
// leftovers of interrupted pulls. With all, it first removes the images
// that no sandbox stands on.
func (s *Store) Prune(all bool) (PruneReport, error) {
	var rep PruneReport
	// Exclusive: no pull is running, so every temporary is a leftover.
	unlock, err := s.lock("gc", true)
	if err != nil {
		return rep, err
	}
	defer unlock()
	if all {
		if rep.Images, err = s.untagUnused(); err != nil {
			return rep, err
		}
	}
	idx, err := s.readIndex()
	if err != nil {
		return rep, err
	}
	keepBlobs, keepLayers := map[string]bool{}, map[string]bool{}
	for _, desc := range idx.Manifests {
		keepBlobs[desc.Digest.Hex] = true
		m, cfg, err := s.readManifest(desc.Digest.String())
		if err != nil {
			// Keep what an unreadable entry might need; report nothing.
			return rep, fmt.Errorf("reading %s: %w (nothing was removed)", desc.Annotations[annotRef], err)
		}
		keepBlobs[m.Config.Digest.Hex] = true
		for _, l := range m.Layers {
			keepBlobs[l.Digest.Hex] = true
		}
		for _, d := range cfg.RootFS.DiffIDs {
			keepLayers[d.Hex] = true
		}
	}
	blobs := filepath.Join(s.root, ociDir, "blobs", "sha256")
	entries, _ := os.ReadDir(blobs)
	for _, e := range entries {
		if keepBlobs[e.Name()] {
			continue
		}
		if fi, err := e.Info(); err == nil {
			rep.Bytes += fi.Size()
		}
		if err := os.Remove(filepath.Join(blobs, e.Name())); err == nil {
			rep.Blobs++
		}
	}
	var errs []error
	layers := filepath.Join(s.root, layersDir, "sha256")
	entries, _ = os.ReadDir(layers)
	for _, e := range entries {
		if keepLayers[e.Name()] {
			continue
		}
		if err := s.unpacker().RemoveAll(filepath.Join(layers, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Layers++
	}
	entries, _ = os.ReadDir(filepath.Join(s.root, recsDir))
	for _, e := range entries {
		if !keepLayers[strings.TrimSuffix(e.Name(), ".json")] {
			_ = os.Remove(filepath.Join(s.root, recsDir, e.Name()))
		}
	}
	entries, _ = os.ReadDir(filepath.Join(s.root, tmpDir))
	for _, e := range entries {
		if err := s.unpacker().RemoveAll(filepath.Join(s.root, tmpDir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// untagUnused removes the index entries of images no sandbox stands on.
func (s *Store) untagUnused() ([]string, error) {
	uses, err := s.Uses()
	if err != nil {
		return nil, err
	}
	var removed []string
	err = s.updateIndex(func(idx *v1.IndexManifest) error {
		out := idx.Manifests[:0]
		for _, m := range idx.Manifests {
			if len(usedBy(uses, m.Digest.String())) > 0 {
				out = append(out, m)
				continue
			}
			removed = append(removed, m.Annotations[annotRef])
		}
		idx.Manifests = out
		return nil
	})
	return removed, err
}
