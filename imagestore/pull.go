package imagestore

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PullOptions configure one pull.
type PullOptions struct {
	// Insecure allows plain HTTP and unverified TLS for this registry
	// (`--tls-verify=false`, `insecure_registries`).
	Insecure bool
	// Progress, if set, is called as layers move (from several goroutines,
	// one at a time).
	Progress func(Progress)
	// Platform picks from a multi-platform index; default: this host's.
	Platform *v1.Platform
}

// Progress reports one layer's state.
type Progress struct {
	Layer string // digest
	Phase string // "download", "unpack", "done" or "exists"
	Done  int64  // bytes downloaded
	Total int64
}

// HostPlatform is the platform images are resolved for.
func HostPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm64" {
		p.Variant = "v8"
	}
	return p
}

// Pull fetches ref into the store (what is already there is not fetched
// again) and returns it. The image is listed only once every blob is
// stored and every layer unpacked.
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (*Image, error) {
	norm, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	var nameOpts []name.Option
	if o.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(norm, nameOpts...)
	if err != nil {
		return nil, &RefError{Ref: ref, Err: err}
	}
	img, err := s.pull(ctx, r, norm, o)
	var h *HostileError
	if errors.As(err, &h) {
		// Nothing of a refused image stays, not even its good layers.
		_, _ = s.Prune(false)
	}
	return img, err
}

func (s *Store) pull(ctx context.Context, r name.Reference, norm string, o PullOptions) (*Image, error) {
	// What a killed pull left is removed by the next one, before it
	// writes its own, so a store does not fill up with them between
	// prunes. A leftover that will not go must not stop pulls: prune
	// reports it.
	_ = s.sweepPullTemporaries()
	// Pulls hold the gc lock shared: prune waits for them, so it never
	// removes a blob or temporary that a pull is about to use.
	unlock, err := s.lock("gc", false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	platform := HostPlatform()
	if o.Platform != nil {
		platform = *o.Platform
	}
	opts := []remote.Option{
		remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(platform), remote.WithTransport(httpTransport(o.Insecure)),
	}
	img, refDigest, err := s.fetchManifest(r, opts)
	if err != nil {
		return nil, &PullError{Ref: norm, Err: err, Insecure: o.Insecure, Store: s.root}
	}
	fetcher, err := newBlobFetcher(ctx, r.Context(), o.Insecure)
	if err != nil {
		return nil, &PullError{Ref: norm, Err: err, Insecure: o.Insecure, Store: s.root}
	}
	if err := s.storeImage(img, fetcher, o.Progress); err != nil {
		return nil, &PullError{Ref: norm, Err: err, Insecure: o.Insecure, Store: s.root}
	}
	mt, _ := img.MediaType()
	dgst, _ := img.Digest()
	size, _ := img.Size()
	desc := v1.Descriptor{MediaType: mt, Digest: dgst, Size: size, Platform: &platform}
	if err := s.tag(norm, desc, refDigest); err != nil {
		return nil, &PullError{Ref: norm, Err: err, Store: s.root}
	}
	return s.Get(norm)
}

// PullError is a pull that failed.
type PullError struct {
	Ref  string
	Err  error
	Push bool // the error is of a push
	// Insecure: the registry was already allowed plain HTTP and
	// unverified TLS, so the advice is not to allow it.
	Insecure bool
	Store    string // the image store's directory
}

func (e *PullError) Error() string {
	op := "pulling"
	if e.Push {
		op = "pushing"
	}
	return fmt.Sprintf("%s %s: %v", op, e.Ref, e.Err)
}
func (e *PullError) Unwrap() error { return e.Err }

// Hint points at the cause (see pullHint).
func (e *PullError) Hint() string {
	var te *transportError
	if errors.As(e.Err, &te) && te.hint == insecureHint && e.Insecure {
		return "plain HTTP and unverified TLS are already allowed for this registry (--tls-verify=false or insecure_registries): check that the address serves a registry"
	}
	return pullHint(e.Err, e.Store)
}

// fetchManifest resolves r to one platform's image, refusing oversized
// manifests and configs before they are read.
func (s *Store) fetchManifest(r name.Reference, opts []remote.Option) (v1.Image, string, error) {
	lim := s.opts.Limits
	if head, err := remote.Head(r, opts...); err == nil && head.Size > lim.ManifestBytes {
		return nil, "", &HostileError{Msg: fmt.Sprintf("manifest is %d bytes, over the limit of %d", head.Size, lim.ManifestBytes)}
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, "", classify(err)
	}
	if int64(len(desc.Manifest)) > lim.ManifestBytes {
		return nil, "", &HostileError{Msg: fmt.Sprintf("manifest is %d bytes, over the limit of %d", len(desc.Manifest), lim.ManifestBytes)}
	}
	if err := checkUnambiguous(desc.Manifest, string(desc.MediaType)); err != nil {
		return nil, "", err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, "", fmt.Errorf("resolving %s for %s: %w", r, HostPlatform(), err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, "", classify(err)
	}
	if int64(len(raw)) > lim.ManifestBytes {
		return nil, "", &HostileError{Msg: fmt.Sprintf("manifest is %d bytes, over the limit of %d", len(raw), lim.ManifestBytes)}
	}
	mt, _ := img.MediaType()
	if err := checkUnambiguous(raw, string(mt)); err != nil {
		return nil, "", err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, "", &HostileError{Msg: fmt.Sprintf("unreadable manifest: %v", err)}
	}
	if err := checkDigest(m.Config.Digest.String()); err != nil {
		return nil, "", err
	}
	if m.Config.Size > lim.ConfigBytes {
		return nil, "", &HostileError{Msg: fmt.Sprintf("image config is %d bytes, over the limit of %d", m.Config.Size, lim.ConfigBytes)}
	}
	for _, l := range m.Layers {
		if err := checkDigest(l.Digest.String()); err != nil {
			return nil, "", err
		}
	}
	return img, desc.Digest.String(), nil
}

// storeImage stores the config, every layer (downloaded and unpacked in
// parallel), then the manifest: a manifest blob is written last, so its
// presence means the image is complete.
func (s *Store) storeImage(img v1.Image, f *blobFetcher, progress func(Progress)) error {
	m, _ := img.Manifest()
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return classify(err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return &HostileError{Msg: fmt.Sprintf("unreadable image config: %v", err)}
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return &HostileError{Msg: fmt.Sprintf("%d layers but %d diff_ids in the config", len(m.Layers), len(cfg.RootFS.DiffIDs))}
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if err := checkDigest(d.String()); err != nil {
			return err
		}
	}
	if err := s.writeBlob(m.Config.Digest.String(), m.Config.Size, bytesOpener(rawCfg)); err != nil {
		return err
	}
	report := serialize(progress)
	errs := make([]error, len(m.Layers))
	sem := make(chan struct{}, s.opts.Jobs)
	var wg sync.WaitGroup
	for i, l := range m.Layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = s.storeLayer(f, l, cfg.RootFS.DiffIDs[i].String(), report)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	raw, _ := img.RawManifest()
	dgst, _ := img.Digest()
	return s.writeBlob(dgst.String(), int64(len(raw)), bytesOpener(raw))
}

// storeLayer downloads one layer blob and unpacks it.
func (s *Store) storeLayer(f *blobFetcher, l v1.Descriptor, diffID string, report func(Progress)) error {
	dgst := l.Digest.String()
	if _, err := os.Stat(s.layerPath(diffID)); err == nil {
		// Stored means stored whole: a blob of the wrong size (a
		// truncated or damaged file) is fetched again by writeBlob.
		if fi, err := os.Stat(s.blobPath(dgst)); err == nil && fi.Size() == l.Size {
			report(Progress{Layer: dgst, Phase: "exists", Done: l.Size, Total: l.Size})
			return nil
		}
	}
	open := func() (io.ReadCloser, error) {
		rc, err := f.open(dgst, l.Size)
		if err != nil {
			return nil, err
		}
		return &counter{ReadCloser: rc, fn: func(n int64) {
			report(Progress{Layer: dgst, Phase: "download", Done: n, Total: l.Size})
		}}, nil
	}
	if err := s.writeBlob(dgst, l.Size, open); err != nil {
		return err
	}
	report(Progress{Layer: dgst, Phase: "unpack", Done: l.Size, Total: l.Size})
	if err := s.unpackLayer(dgst, string(l.MediaType), diffID); err != nil {
		// A blob stored earlier and damaged since fails to unpack like
		// a malformed one: it is the store's fault, and fsck's to fix.
		var c *CorruptError
		if verr := s.verifyBlob(dgst, l.Size); errors.As(verr, &c) {
			return c
		}
		var h *HostileError
		if errors.As(err, &h) && h.Layer == "" {
			h.Layer = dgst
		}
		return err
	}
	report(Progress{Layer: dgst, Phase: "done", Done: l.Size, Total: l.Size})
	return nil
}

// unpackLayer unpacks a stored blob into layers/ unless it is there: into
// a temporary directory first, which the unpacker renames when complete.
func (s *Store) unpackLayer(blobDigest, mediaType, diffID string) error {
	unlock, err := s.lock("layer-"+diffID[7:], true)
	if err != nil {
		return err
	}
	defer unlock()
	final := s.layerPath(diffID)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	tmp := filepath.Join(s.root, tmpDir, "layer-"+diffID[7:19]+"-"+strconv.Itoa(os.Getpid()))
	u := s.unpacker()
	_ = u.RemoveAll(tmp)
	_, err = u.Unpack(UnpackRequest{
		Blob: s.blobPath(blobDigest), MediaType: mediaType, Dest: tmp, Final: final, DiffID: diffID,
		Limits: s.opts.Limits, Chown: u.Owners(), Record: s.recordPath(diffID),
	})
	if err != nil {
		if rmErr := u.RemoveAll(tmp); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing the partial layer %s: %w", tmp, rmErr))
		}
		return err
	}
	return nil
}

func bytesOpener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// serialize makes a progress callback safe to call from several goroutines.
func serialize(fn func(Progress)) func(Progress) {
	if fn == nil {
		return func(Progress) {}
	}
	var mu sync.Mutex
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		fn(p)
	}
}

// counter reports bytes read, at most every 256 KiB.
type counter struct {
	io.ReadCloser
	n, last int64
	fn      func(int64)
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	if c.n-c.last >= 256<<10 || err == io.EOF {
		c.last = c.n
		c.fn(c.n)
	}
	return n, err
}

// httpTransport is the HTTP transport for a registry: verified HTTPS only,
// unless insecure, which allows plain HTTP and skips TLS verification.
// (ggcr on its own speaks plain HTTP to localhost and private addresses;
// we do that only when asked, as podman and skopeo do.)
func httpTransport(insecure bool) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
		return t
	}
	return httpsOnly{t}
}

type httpsOnly struct{ rt http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, &transportError{
			err:  fmt.Errorf("refusing plain HTTP to %s", r.URL.Host),
			hint: insecureHint,
		}
	}
	return h.rt.RoundTrip(r)
}
