package imagestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations on index.json entries. ref.name is the OCI layout's own (what
// `skopeo inspect oci:DIR:REF` looks up); the others are ours.
const (
	annotRef       = "org.opencontainers.image.ref.name"
	annotRefDigest = "io.github.sandbox.ref-digest" // what the ref resolved to: an index or this manifest
	annotPulled    = "io.github.sandbox.pulled"
)

// Normalize returns the canonical form of an image reference: registry,
// repository and tag or digest, with Docker Hub spelled docker.io (as
// podman shows it) and :latest added when neither is given.
func Normalize(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", &RefError{Ref: ref, Err: err}
	}
	repo := repository(r)
	if d, ok := r.(name.Digest); ok {
		return repo + "@" + d.DigestStr(), nil
	}
	return repo + ":" + r.Identifier(), nil
}

// RefError is an image reference that does not parse.
type RefError struct {
	Ref string
	Err error
}

func (e *RefError) Error() string { return fmt.Sprintf("invalid image reference %q: %v", e.Ref, e.Err) }

// Hint says what a reference looks like.
func (e *RefError) Hint() string {
	return "write it as [REGISTRY/]REPOSITORY[:TAG|@sha256:DIGEST], e.g. docker.io/library/debian:bookworm"
}

func (s *Store) indexPath() string { return filepath.Join(s.root, ociDir, "index.json") }

// readIndex reads index.json; a store without one is empty.
func (s *Store) readIndex() (*v1.IndexManifest, error) {
	data, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("reading the image store's index %s: %w", s.indexPath(), err)
	}
	return &idx, nil
}

// updateIndex changes index.json under the store lock and replaces it
// atomically.
func (s *Store) updateIndex(change func(*v1.IndexManifest) error) error {
	unlock, err := s.lock("store", true)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := change(idx); err != nil {
		return err
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.indexPath(), data, filepath.Join(s.root, tmpDir))
}

// tag points ref at the manifest desc (replacing what it pointed at).
func (s *Store) tag(ref string, desc v1.Descriptor, refDigest string) error {
	return s.updateIndex(func(idx *v1.IndexManifest) error {
		out := idx.Manifests[:0]
		for _, m := range idx.Manifests {
			if m.Annotations[annotRef] != ref {
				out = append(out, m)
			}
		}
		desc.Annotations = map[string]string{
			annotRef: ref, annotRefDigest: refDigest,
			annotPulled: time.Now().UTC().Format(time.RFC3339),
		}
		idx.Manifests = append(out, desc)
		return nil
	})
}

// lookup finds the index entry for ref: by name, or for REPO@DIGEST by the
// digest the ref resolved to (a lockfile's pin), or a bare digest.
func lookup(idx *v1.IndexManifest, ref string) (v1.Descriptor, bool) {
	for _, m := range idx.Manifests {
		if m.Annotations[annotRef] == ref {
			return m, true
		}
	}
	_, dgst, isDigest := strings.Cut(ref, "@")
	if !isDigest {
		if !validDigest(ref) {
			return v1.Descriptor{}, false
		}
		dgst = ref
	}
	for _, m := range idx.Manifests {
		if m.Digest.String() == dgst || m.Annotations[annotRefDigest] == dgst {
			return m, true
		}
	}
	return v1.Descriptor{}, false
}

// Repository is ref without its tag or digest, normalized.
func Repository(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ref
	}
	return repository(r)
}

// repository spells r's registry and repository, Docker Hub as docker.io.
func repository(r name.Reference) string {
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + r.Context().RepositoryStr()
}

// Registry is ref's registry host, as insecure_registries names it.
func Registry(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ""
	}
	return r.Context().RegistryStr()
}

// CheckRef reports whether ref is an image reference this store can
// resolve (the registry client's grammar).
func CheckRef(ref string) error {
	_, err := name.ParseReference(ref)
	return err
}
