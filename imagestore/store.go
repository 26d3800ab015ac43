// Package imagestore keeps OCI images on disk: an OCI image layout that
// other tools can read (skopeo's oci: transport, umoci), and beside it each
// layer unpacked once, keyed by its diffID and shared between images, ready
// to be stacked with overlayfs.
//
// Every blob goes to a temporary file, is checked against its digest and
// size, fsynced and renamed into place; a layer is unpacked into a
// temporary directory and renamed when complete. So a name under blobs/ or
// layers/ is always complete and a crash leaves only temporaries, which the
// next pull or prune removes.
package imagestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sandbox/internal/linux"
	"strings"
)

// Store is an image store rooted at a directory. Its methods are safe for
// concurrent use, also by several processes: the store's metadata is
// guarded by file locks.
type Store struct {
	root string
	opts Options
}

// Options configure a Store.
type Options struct {
	// Limits bound what a pull accepts; zero fields take DefaultLimits.
	Limits Limits
	// Unpacker unpacks layers and removes unpacked trees. Nil unpacks in
	// this process, without ownership (every file belongs to the caller).
	Unpacker Unpacker
	// Jobs is how many layers download and unpack at once (default 4).
	Jobs int
}

// Unpacker extracts layers, for a Store. The sandbox's implementation runs
// inside a user namespace with the user's subordinate ids, so that files
// keep their owners. Implementations MUST be safe for concurrent use.
type Unpacker interface {
	// Unpack extracts the layer blob req.Blob into the new directory
	// req.Dest (which must not exist).
	Unpack(req UnpackRequest) (UnpackResult, error)
	// RemoveAll removes a tree that Unpack made, whoever owns its files.
	RemoveAll(path string) error
	// Owners reports whether unpacked files keep their owners.
	Owners() bool
	// Pack writes a sandbox's upper layer as a layer blob (see Pack).
	Pack(req PackRequest) (PackResult, error)
	// Changes lists what an upper layer changes (see Changes).
	Changes(req ChangesRequest) ([]Change, error)
	// Apply writes a project overlay's changes to the project (see Apply).
	Apply(req ApplyRequest) ([]Change, error)
	// Verify checks an unpacked layer against its record (see Verify).
	Verify(req VerifyRequest) (VerifyResult, error)
}

// ChangesRequest asks what upper changes in lowers (top first).
type ChangesRequest struct {
	Upper  string   `json:"upper"`
	Lowers []string `json:"lowers"`
	Ignore []string `json:"ignore,omitempty"`
}

// UnpackRequest is one layer to unpack.
type UnpackRequest struct {
	Blob      string `json:"blob"`       // the compressed blob's path
	MediaType string `json:"media_type"` // how it is compressed
	Dest      string `json:"dest"`
	// Final, if set, is where Dest is renamed once complete (by the
	// unpacker: moving a directory needs write access to it, which only
	// the namespace that owns it may have).
	Final  string `json:"final,omitempty"`
	DiffID string `json:"diff_id"` // the uncompressed tar's digest, checked
	Limits Limits `json:"limits"`
	Chown  bool   `json:"chown"` // give files their owners from the tar
	// Record, if set, is where the unpacked tree's record is written
	// (see LayerRecord) before Dest is renamed.
	Record string `json:"record,omitempty"`
}

// UnpackResult is what an unpack found.
type UnpackResult struct {
	Files   int   `json:"files"`
	Bytes   int64 `json:"bytes"`
	Skipped int   `json:"skipped"` // device nodes left out
}

// Layout of the store's root:
//
//	oci/            an OCI image layout: oci-layout, index.json, blobs/sha256/
//	layers/sha256/  one directory per unpacked layer, named by diffID
//	records/        one file per unpacked layer, named by diffID: what its
//	                unpack wrote (LayerRecord), for fsck
//	uses/           one file per sandbox that stands on an image
//	tmp/            temporaries of pulls in progress
//	locks/          lock files: "store" for index.json, one per blob and layer
const (
	ociDir    = "oci"
	layersDir = "layers"
	recsDir   = "records"
	usesDir   = "uses"
	tmpDir    = "tmp"
	locksDir  = "locks"
)

// Open opens the store at root, creating it if needed. The root is made
// 0700: layers hold images' setuid files, which must stay out of other
// users' reach on the host.
func Open(root string, o Options) (*Store, error) {
	o.Limits = o.Limits.withDefaults()
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	s := &Store{root: root, opts: o}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("creating the image store: %w", err)
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return nil, fmt.Errorf("securing the image store: %w", err)
	}
	for _, d := range []string{
		filepath.Join(ociDir, "blobs", "sha256"), filepath.Join(layersDir, "sha256"),
		usesDir, tmpDir, locksDir, recsDir,
	} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("creating the image store: %w", err)
		}
	}
	spreadLayers(filepath.Join(root, tmpDir))
	layoutFile := filepath.Join(root, ociDir, "oci-layout")
	if _, err := os.Stat(layoutFile); errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(layoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`), filepath.Join(root, tmpDir)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// Layout is the OCI image layout's directory, for `skopeo inspect oci:DIR:REF`.
func (s *Store) Layout() string { return filepath.Join(s.root, ociDir) }

func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.root, ociDir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func (s *Store) layerPath(diffID string) string {
	return filepath.Join(s.root, layersDir, "sha256", strings.TrimPrefix(diffID, "sha256:"))
}

func (s *Store) recordPath(diffID string) string {
	return filepath.Join(s.root, recsDir, strings.TrimPrefix(diffID, "sha256:")+".json")
}

func (s *Store) unpacker() Unpacker {
	if s.opts.Unpacker != nil {
		return s.opts.Unpacker
	}
	return InProcess{}
}

// InProcess unpacks in the calling process: without ownership, unless the
// caller is real root.
type InProcess struct{}

// Unpack implements Unpacker.
func (InProcess) Unpack(req UnpackRequest) (UnpackResult, error) { return UnpackFile(req) }

// RemoveAll implements Unpacker; it makes read-only directories writable
// on the way down.
func (InProcess) RemoveAll(path string) error { return linux.RemoveAll(path) }

// Owners implements Unpacker.
func (InProcess) Owners() bool { return os.Geteuid() == 0 }

// Pack implements Unpacker.
func (InProcess) Pack(req PackRequest) (PackResult, error) { return Pack(req) }

// Apply implements Unpacker.
func (InProcess) Apply(req ApplyRequest) ([]Change, error) { return Apply(req) }

// Verify implements Unpacker.
func (InProcess) Verify(req VerifyRequest) (VerifyResult, error) { return Verify(req) }

// Changes implements Unpacker.
func (InProcess) Changes(req ChangesRequest) ([]Change, error) {
	return Changes(req.Upper, req.Lowers, req.Ignore)
}
