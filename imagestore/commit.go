package imagestore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CommitOptions describe a new layer made from a sandbox's changes.
type CommitOptions struct {
	Ref       string    // the new image's name in the store
	Message   string    // the history entry's comment
	CreatedBy string    // the history entry's created_by
	Created   time.Time // the config's and the history entry's time
	Epoch     time.Time // mtimes are clamped to it (see PackRequest)
	Ignore    []string  // mountpoints the sandbox made
}

// Commit packs upper as a new layer on base and stores the result as
// o.Ref: a standard OCI image (the layer gzipped with .wh. whiteouts, a
// history entry in the config) that other tools run unchanged.
func (s *Store) Commit(base *Image, upper string, o CommitOptions) (*Image, error) {
	unlock, err := s.lock("gc", false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	tmp := filepath.Join(s.root, tmpDir, "commit-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	res, err := s.unpacker().Pack(PackRequest{Upper: upper, Dest: tmp, Epoch: o.Epoch, Ignore: o.Ignore})
	defer os.Remove(tmp)
	if err != nil {
		return nil, fmt.Errorf("packing the sandbox's changes: %w", err)
	}
	if err := s.adoptBlob(tmp, res.Digest); err != nil {
		return nil, err
	}
	m, cfg, err := s.readManifest(base.Digest)
	if err != nil {
		return nil, err
	}
	layerType := types.OCILayer
	if m.MediaType == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	if err := s.unpackLayer(res.Digest, string(layerType), res.DiffID); err != nil {
		return nil, err
	}
	diffID, _ := v1.NewHash(res.DiffID)
	dgst, _ := v1.NewHash(res.Digest)
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: o.Created.UTC()}, CreatedBy: o.CreatedBy, Comment: o.Message})
	cfg.Created = v1.Time{Time: o.Created.UTC()}
	rawCfg, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cfgDesc, err := s.putBlob(rawCfg)
	if err != nil {
		return nil, err
	}
	cfgDesc.MediaType = m.Config.MediaType
	m.Config = cfgDesc
	m.Layers = append(m.Layers, v1.Descriptor{MediaType: layerType, Size: res.Size, Digest: dgst})
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	desc, err := s.putBlob(rawManifest)
	if err != nil {
		return nil, err
	}
	desc.MediaType = m.MediaType
	if desc.MediaType == "" {
		desc.MediaType = types.OCIManifestSchema1
	}
	ref, err := Normalize(o.Ref)
	if err != nil {
		return nil, err
	}
	if err := s.tag(ref, desc, desc.Digest.String()); err != nil {
		return nil, err
	}
	return s.Get(ref)
}

// adoptBlob moves a file our own code wrote and hashed into the blobs.
func (s *Store) adoptBlob(path, digest string) error {
	return s.missingBlob(digest, -1, func(final string) error { return renameDurable(path, final) })
}

// putBlob stores bytes as a blob and returns its descriptor.
func (s *Store) putBlob(b []byte) (v1.Descriptor, error) {
	h, n, err := v1.SHA256(bytesReader(b))
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{Digest: h, Size: n}, s.writeBlob(h.String(), n, bytesOpener(b))
}

// Tag gives the image src the name dst too.
func (s *Store) Tag(src, dst string) error {
	from, err := Normalize(src)
	if err != nil && !validDigest(src) {
		return err
	}
	if err != nil {
		from = src
	}
	to, err := Normalize(dst)
	if err != nil {
		return err
	}
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	desc, ok := lookup(idx, from)
	if !ok {
		return fmt.Errorf("%s: %w", src, ErrNotFound)
	}
	return s.tag(to, desc, desc.Annotations[annotRefDigest])
}

// PushOptions configure a push.
type PushOptions struct {
	Insecure bool
}

// Push uploads the stored image ref to the registry it names: only the
// blobs the registry lacks are sent (ggcr checks each with HEAD first).
func (s *Store) Push(ctx context.Context, ref string, o PushOptions) (*Image, error) {
	img, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	var nameOpts []name.Option
	if o.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(img.Ref, nameOpts...)
	if err != nil {
		return nil, &RefError{Ref: ref, Err: err}
	}
	// A blob damaged in the store would be refused by the registry as
	// DIGEST_INVALID, which reads like a network problem: name it first.
	if err := s.verifyImage(img); err != nil {
		return nil, &PullError{Ref: img.Ref, Err: err, Push: true, Store: s.root}
	}
	h, _ := v1.NewHash(img.Digest)
	li, err := layout.Path(s.Layout()).Image(h)
	if err != nil {
		return nil, err
	}
	err = remote.Write(r, li, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(httpTransport(o.Insecure)))
	if err != nil {
		return nil, &PullError{Ref: img.Ref, Err: classify(err), Push: true, Insecure: o.Insecure, Store: s.root}
	}
	return img, nil
}
