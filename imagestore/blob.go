package imagestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// validDigest reports whether d is sha256:<64 lowercase hex digits>. A loop,
// not a regexp: a package-level regexp is compiled in every exec of the
// binary, the sandbox's init and payload stages included.
func validDigest(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	for _, c := range []byte(hexPart) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkDigest refuses digests that are not sha256:<64 hex>: a digest names
// a file in the store, so anything else could be a path.
func checkDigest(d string) error {
	if !validDigest(d) {
		return &HostileError{Msg: fmt.Sprintf("malformed digest %q (want sha256:<64 hex digits>)", d)}
	}
	return nil
}

// writeBlob stores what r yields as the blob digest, which must be size
// bytes long. The content goes to a temporary file, is hashed and counted
// on the way, fsynced, and renamed into place only if it matches; a blob
// already present is not fetched again. Concurrent writers of one blob
// (other pulls, other processes) wait for each other, so it is downloaded
// once; open is only called when the blob is missing.
func (s *Store) writeBlob(digest string, size int64, open func() (io.ReadCloser, error)) error {
	return s.missingBlob(digest, size, func(final string) error { return s.fetchBlob(digest, size, final, open) })
}

// missingBlob calls store, under the blob's lock, unless a blob of that
// digest (and size, if not -1) is stored already.
func (s *Store) missingBlob(digest string, size int64, store func(final string) error) error {
	if err := checkDigest(digest); err != nil {
		return err
	}
	unlock, err := s.lock("blob-"+digest[7:], true)
	if err != nil {
		return err
	}
	defer unlock()
	final := s.blobPath(digest)
	if fi, err := os.Stat(final); err == nil && (size < 0 || fi.Size() == size) {
		return nil
	}
	return store(final)
}

func (s *Store) fetchBlob(digest string, size int64, final string, open func() (io.ReadCloser, error)) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.CreateTemp(filepath.Join(s.root, tmpDir), "blob-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	// One byte more than announced tells a too-long blob from a right one.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("downloading %s: %w", short(digest), err)
	}
	if n != size {
		return &HostileError{Layer: digest, Msg: fmt.Sprintf("blob is %s bytes, the manifest says %d", sizeWord(n, size), size)}
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return &HostileError{Layer: digest, Msg: "blob content does not match its digest (got " + short(got) + ")"}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return renameDurable(f.Name(), final)
}

func sizeWord(n, size int64) string {
	if n > size {
		return "more than " + fmt.Sprint(size)
	}
	return fmt.Sprint(n)
}

// writeFileAtomic replaces name with data: a synced temporary in tmp,
// renamed over it.
func writeFileAtomic(name string, data []byte, tmp string) error {
	f, err := os.CreateTemp(tmp, "meta-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return renameDurable(f.Name(), name)
}

// renameDurable renames and syncs the target's directory, so that the new
// name survives a crash.
func renameDurable(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(to))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lock takes a lock file under locks/ (exclusive or shared) and returns
// its release. The kernel drops it if the process dies.
func (s *Store) lock(name string, exclusive bool) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.root, locksDir, name), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the image store: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the image store: %w", &os.PathError{Op: "flock", Path: f.Name(), Err: err})
	}
	return func() { f.Close() }, nil
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
