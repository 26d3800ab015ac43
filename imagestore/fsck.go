package imagestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// FsckOptions configure a store check.
type FsckOptions struct {
	// Repair re-fetches damaged blobs from the registries the images came
	// from, unpacks damaged layers again, and removes the images that
	// cannot be repaired, except those a sandbox stands on.
	Repair bool
	// Full hashes every file of every layer; without it a layer's files
	// are compared by type, mode, owner, size and mtime.
	Full bool
	// Insecure allows plain HTTP and unverified TLS for re-fetching.
	Insecure bool
}

// FsckReport is what a check found and did.
type FsckReport struct {
	Blobs    int       `json:"blobs"`  // blobs checked
	Layers   int       `json:"layers"` // unpacked layers checked
	Problems []Problem `json:"problems"`
	Removed  []string  `json:"removed,omitempty"` // images removed as beyond repair
	// Unrecorded are layers (diffIDs) without a record of their unpack,
	// unpacked by an older sandbox: only their blobs were checked.
	// --repair unpacks them again, which records them.
	Unrecorded []string `json:"unrecorded,omitempty"`
}

// Problem is one damaged blob or layer.
type Problem struct {
	Kind    string   `json:"kind"`   // "blob" or "layer"
	Digest  string   `json:"digest"` // the blob's digest, or the layer's diffID
	Images  []string `json:"images"` // the refs that need it
	Details []string `json:"details"`
	Fixed   string   `json:"fixed,omitempty"` // what --repair did, "" if nothing
}

// storedBlob is a blob some stored image needs.
type storedBlob struct {
	size     int64
	manifest bool // fetched from the manifests endpoint
	refs     []string
}

// storedLayer is an unpacked layer some stored image needs.
type storedLayer struct {
	blob, mediaType string
	refs            []string
}

// inventory lists what the stored images need. A manifest that does not
// parse leaves its blob listed alone (its hash decides).
func (s *Store) inventory() (map[string]*storedBlob, map[string]*storedLayer, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, nil, err
	}
	blobs, layers := map[string]*storedBlob{}, map[string]*storedLayer{}
	addBlob := func(d string, size int64, manifest bool, ref string) {
		b := blobs[d]
		if b == nil {
			b = &storedBlob{size: size, manifest: manifest}
			blobs[d] = b
		}
		b.refs = append(b.refs, ref)
	}
	for _, desc := range idx.Manifests {
		ref := desc.Annotations[annotRef]
		addBlob(desc.Digest.String(), desc.Size, true, ref)
		if s.verifyBlob(desc.Digest.String(), desc.Size) != nil {
			continue
		}
		raw, err := os.ReadFile(s.blobPath(desc.Digest.String()))
		if err != nil {
			return nil, nil, err
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil || checkDigest(m.Config.Digest.String()) != nil {
			continue // hostile or not a manifest: nothing more to check
		}
		addBlob(m.Config.Digest.String(), m.Config.Size, false, ref)
		_, cfg, err := s.readManifest(desc.Digest.String())
		if err != nil || len(cfg.RootFS.DiffIDs) != len(m.Layers) {
			continue // a damaged config: its blob's check reports it
		}
		for i, l := range m.Layers {
			addBlob(l.Digest.String(), l.Size, false, ref)
			d := cfg.RootFS.DiffIDs[i].String()
			if layers[d] == nil {
				layers[d] = &storedLayer{blob: l.Digest.String(), mediaType: string(l.MediaType)}
			}
			layers[d].refs = append(layers[d].refs, ref)
		}
	}
	return blobs, layers, nil
}

// Fsck checks every blob against its digest and every unpacked layer
// against the record of its unpack, and with o.Repair mends what it can.
func (s *Store) Fsck(ctx context.Context, o FsckOptions) (FsckReport, error) {
	rep := FsckReport{Problems: []Problem{}}
	// Exclusive: no pull or prune changes the store under the check.
	unlock, err := s.lock("gc", true)
	if err != nil {
		return rep, err
	}
	broken := map[string]bool{} // blobs still damaged after repair
	checked := map[string]bool{}
	var layers map[string]*storedLayer
	// A manifest or config fetched again may name blobs and layers the
	// damaged copy hid: a second pass takes those in.
	for pass := 0; pass < 2; pass++ {
		var blobs map[string]*storedBlob
		blobs, layers, err = s.inventory()
		if err != nil {
			unlock()
			return rep, err
		}
		if s.checkBlobs(ctx, blobs, checked, broken, o, &rep) == 0 {
			break
		}
	}
	for _, d := range sortedKeys(layers) {
		l := layers[d]
		rep.Layers++
		p, unrecorded := s.checkLayer(d, l, o, broken)
		if unrecorded {
			rep.Unrecorded = append(rep.Unrecorded, d)
		}
		if p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
	}
	unlock()
	if o.Repair {
		return rep, s.removeBroken(&rep)
	}
	return rep, nil
}

// checkBlobs verifies the blobs not checked yet and, with o.Repair,
// fetches the damaged ones again; it returns how many it fetched.
func (s *Store) checkBlobs(ctx context.Context, blobs map[string]*storedBlob, checked, broken map[string]bool, o FsckOptions, rep *FsckReport) int {
	fetched := 0
	for _, d := range sortedKeys(blobs) {
		if checked[d] {
			continue
		}
		checked[d] = true
		b := blobs[d]
		rep.Blobs++
		err := s.verifyBlob(d, b.size)
		if err == nil {
			continue
		}
		p := Problem{Kind: "blob", Digest: d, Images: b.refs, Details: []string{err.Error()}}
		if o.Repair {
			if ferr := s.refetch(ctx, d, b, o.Insecure); ferr != nil {
				p.Details = append(p.Details, "re-fetching: "+ferr.Error())
			} else {
				p.Fixed = "fetched again"
				fetched++
			}
		}
		if p.Fixed == "" {
			broken[d] = true
		}
		rep.Problems = append(rep.Problems, p)
	}
	return fetched
}

// checkLayer verifies one unpacked layer and, with o.Repair, unpacks it
// again from its blob (if that is sound). A layer without a record is no
// damage: unrecorded says so, and --repair unpacks it again to record it.
func (s *Store) checkLayer(diffID string, l *storedLayer, o FsckOptions, broken map[string]bool) (p *Problem, unrecorded bool) {
	dir := s.layerPath(diffID)
	var details []string
	if _, err := os.Lstat(dir); err != nil {
		details = []string{"not unpacked"}
	} else {
		res, err := s.unpacker().Verify(VerifyRequest{Dir: dir, Record: s.recordPath(diffID), Full: o.Full})
		switch {
		case err != nil:
			details = []string{"checking: " + err.Error()}
		case res.Unrecorded && !o.Repair:
			return nil, true
		case res.Unrecorded:
			details = []string{"no record of its unpack (unpacked by an older sandbox)"}
		case len(res.Problems) > 0:
			details = res.Problems
		}
	}
	if details == nil {
		return nil, false
	}
	p = &Problem{Kind: "layer", Digest: diffID, Images: l.refs, Details: details}
	if !o.Repair {
		return p, false
	}
	if broken[l.blob] {
		p.Details = append(p.Details, "not unpacked again: its blob "+short(l.blob)+" is damaged")
		return p, false
	}
	if err := s.setAside(dir, diffID); err != nil {
		p.Details = append(p.Details, "removing it: "+err.Error())
		return p, false
	}
	if err := s.unpackLayer(l.blob, l.mediaType, diffID); err != nil {
		p.Details = append(p.Details, "unpacking it again: "+err.Error())
		return p, false
	}
	p.Fixed = "unpacked again"
	return p, false
}

// setAside moves a damaged layer out of layers/ into tmp/ rather than
// removing it: a running sandbox's overlay may stand on it, and keeps
// working on a renamed tree (not on a removed one). Prune removes it
// later. A layer whose top directory the user may not move (it belongs
// to a subordinate id) is removed instead.
func (s *Store) setAside(dir, diffID string) error {
	old := filepath.Join(s.root, tmpDir, "fsck-"+diffID[7:19]+"-"+strconv.Itoa(os.Getpid()))
	_ = s.unpacker().RemoveAll(old)
	if err := os.Rename(dir, old); err == nil {
		return nil
	}
	return s.unpacker().RemoveAll(dir)
}

// refetch downloads a damaged blob again from the registry of one of the
// images that need it (the ref each was pulled or tagged as).
func (s *Store) refetch(ctx context.Context, digest string, b *storedBlob, insecure bool) error {
	var errs []error
	for _, ref := range b.refs {
		var opts []name.Option
		if insecure {
			opts = append(opts, name.Insecure)
		}
		r, err := name.ParseReference(ref, opts...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		open, err := s.blobOpener(ctx, r.Context(), digest, b.size, b.manifest, insecure)
		if err == nil {
			if err = os.Remove(s.blobPath(digest)); err == nil || errors.Is(err, os.ErrNotExist) {
				err = s.writeBlob(digest, b.size, open)
			}
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("from %s: %w", ref, classify(err)))
	}
	if len(errs) == 0 {
		return errors.New("no image names a registry to fetch it from")
	}
	return errors.Join(errs...)
}

// blobOpener opens digest in repo: a manifest from the manifests endpoint,
// anything else from the blobs endpoint.
func (s *Store) blobOpener(ctx context.Context, repo name.Repository, digest string, size int64, manifest, insecure bool) (func() (io.ReadCloser, error), error) {
	if manifest {
		desc, err := remote.Get(repo.Digest(digest), remote.WithContext(ctx),
			remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(httpTransport(insecure)))
		if err != nil {
			return nil, err
		}
		return bytesOpener(desc.Manifest), nil
	}
	f, err := newBlobFetcher(ctx, repo, insecure)
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, error) { return f.open(digest, size) }, nil
}

// removeBroken removes the images that still need a damaged blob or
// layer, except those a sandbox stands on, which are named instead.
func (s *Store) removeBroken(rep *FsckReport) error {
	uses, err := s.Uses()
	if err != nil {
		return err
	}
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	var remove []string
	var gone []*Problem
	for i := range rep.Problems {
		p := &rep.Problems[i]
		if p.Fixed != "" {
			continue
		}
		kept := false
		for _, ref := range p.Images {
			desc, ok := lookup(idx, ref)
			if !ok {
				continue
			}
			if projects := usedBy(uses, desc.Digest.String()); len(projects) > 0 {
				kept = true
				p.Details = append(p.Details, fmt.Sprintf("image %s kept: the sandbox of %v stands on it (run `sandbox reset` there, then `sandbox fsck --repair` again)", ref, projects))
				continue
			}
			remove = append(remove, ref)
		}
		if !kept {
			gone = append(gone, p)
		}
	}
	remove = dedupe(remove)
	if len(remove) == 0 {
		return nil
	}
	rep.Removed = remove
	if _, err := s.Remove(remove, false); err != nil {
		return fmt.Errorf("removing the images beyond repair %v: %w", remove, err)
	}
	for _, p := range gone {
		p.Fixed = "removed with its images"
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func dedupe(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}
