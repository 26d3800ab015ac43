package imagestore

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"sandbox/internal/linux"
)

// UnpackFile unpacks the layer blob req.Blob into the new directory
// req.Dest, checking that the uncompressed tar matches req.DiffID. On error
// req.Dest may hold part of the layer; the caller removes it.
func UnpackFile(req UnpackRequest) (UnpackResult, error) {
	if err := checkDigest(req.DiffID); err != nil {
		return UnpackResult{}, err
	}
	f, err := os.Open(req.Blob)
	if err != nil {
		return UnpackResult{}, err
	}
	defer f.Close()
	r, err := decompress(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return UnpackResult{}, err
	}
	defer r.Close()
	lim := req.Limits.withDefaults()
	h := sha256.New()
	// The tar stream may be longer than its content (headers, padding) but
	// not by much: past this it is a bomb however its headers add up.
	bounded := &boundedReader{r: malformedStream{r}, left: lim.LayerBytes + int64(lim.LayerFiles)*1024 + 1<<20}
	stream := io.TeeReader(bounded, h)
	u := &unpacker{limits: lim, chown: req.Chown, sums: &contentSums{m: map[string]string{}}, seen: map[string]struct{}{}}
	res, err := u.unpack(tar.NewReader(stream), req.Dest)
	if err != nil {
		return res, err
	}
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return res, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != req.DiffID {
		return res, &HostileError{Msg: fmt.Sprintf("layer content %s does not match its diff_id %s", short(got), short(req.DiffID))}
	}
	if req.Record != "" {
		if err := writeRecord(req.Dest, req.DiffID, req.Record, u.sums); err != nil {
			return res, err
		}
	}
	if req.Final != "" {
		return res, renameDurable(req.Dest, req.Final)
	}
	return res, nil
}

// decompress recognises gzip and zstd by their magic numbers; anything
// else is read as a plain tar (the tar reader rejects what is not one).
func decompress(r *bufio.Reader) (io.ReadCloser, error) {
	magic, _ := r.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, &HostileError{Msg: fmt.Sprintf("bad gzip stream: %v", err)}
		}
		return z, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, &HostileError{Msg: fmt.Sprintf("bad zstd stream: %v", err)}
		}
		return z.IOReadCloser(), nil
	}
	return io.NopCloser(r), nil
}

type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &HostileError{Msg: "layer decompresses past its size limit (a decompression bomb?)"}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// unpacker extracts one tar stream. Every entry is created relative to a
// directory fd that was opened with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, so
// no path, symlink or hardlink in the layer can reach outside it.
type unpacker struct {
	limits Limits
	chown  bool
	root   int // O_PATH fd of the layer's directory
	res    UnpackResult
	dirs   []dirAttrs // applied at the end, deepest first
	// the last parent directory opened: tar entries come grouped by directory
	lastDir string
	last    *dirRef
	pool    *pool
	// sums has the content hash of every regular file written, for the
	// layer's record, which would otherwise read the whole layer again.
	sums *contentSums
	// seen has every path made so far (see replace).
	seen map[string]struct{}
}

type dirAttrs struct {
	name string
	hdr  *tar.Header
}

func (u *unpacker) unpack(tr *tar.Reader, dest string) (UnpackResult, error) {
	if err := os.Mkdir(dest, 0o755); err != nil {
		return u.res, err
	}
	root, err := unix.Open(dest, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return u.res, &os.PathError{Op: "open", Path: dest, Err: err}
	}
	u.root = root
	u.pool = newPool()
	defer unix.Close(root)
	defer u.closeLast()
	defer u.pool.close()
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var h *HostileError
			if errors.As(err, &h) {
				return u.res, err
			}
			return u.res, &HostileError{Msg: fmt.Sprintf("unreadable tar stream: %v", err)}
		}
		if u.res.Files++; u.res.Files > u.limits.LayerFiles {
			return u.res, &HostileError{Msg: fmt.Sprintf("layer has more than %d entries (the limit)", u.limits.LayerFiles)}
		}
		if err := u.entry(tr, hdr); err != nil {
			return u.res, err
		}
	}
	if err := u.pool.wait(); err != nil {
		return u.res, err
	}
	return u.res, u.finishDirs()
}

// cleanName checks an entry name and returns it relative to the layer
// root ("." for the root itself).
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", hostile(name, "absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", hostile(name, "path with '..'")
		}
	}
	if strings.ContainsRune(name, 0) {
		return "", hostile(name, "NUL in path")
	}
	if err := checkLength(name); err != nil {
		return "", err
	}
	return path.Clean(name), nil
}

// checkLength refuses a path no file system takes: the kernel's raw
// ENAMETOOLONG would read like a local fault, it is the image's.
func checkLength(p string) error {
	const pathMax, nameMax = 4096, 255 // PATH_MAX counts the NUL
	short := p
	if len(short) > 64 {
		short = short[:64] + "..."
	}
	if len(p) >= pathMax {
		return hostile(short, "path of %d bytes, over PATH_MAX (%d)", len(p), pathMax-1)
	}
	for _, part := range strings.Split(p, "/") {
		if len(part) > nameMax {
			return hostile(short, "file name of %d bytes, over NAME_MAX (%d)", len(part), nameMax)
		}
	}
	return nil
}

func (u *unpacker) entry(tr *tar.Reader, hdr *tar.Header) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if err := checkXattrs(hdr); err != nil {
		return err
	}
	if len(hdr.Linkname) >= 4096 {
		return hostile(name, "link target of %d bytes, over PATH_MAX", len(hdr.Linkname))
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			u.dirs = append(u.dirs, dirAttrs{name: ".", hdr: hdr})
		}
		return nil
	}
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	parent, err := u.parent(dir, name)
	if err != nil {
		return err
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(parent, dir, base, name)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.mkdir(parent, base, name, hdr)
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archivers still write '\x00'
		return u.file(tr, parent, base, name, hdr)
	case tar.TypeSymlink:
		return u.symlink(parent, dir, base, name, hdr)
	case tar.TypeLink:
		return u.hardlink(parent, base, name, hdr)
	case tar.TypeFifo:
		if err := u.replace(parent, base, name, false); err != nil {
			return err
		}
		if err := unix.Mknodat(parent, base, unix.S_IFIFO|0o600, 0); err != nil {
			return &os.PathError{Op: "mkfifo", Path: name, Err: err}
		}
		return u.attrs(parent, base, name, hdr, -1)
	case tar.TypeChar, tar.TypeBlock:
		// Device nodes are left out: a user namespace cannot make them,
		// and a sandbox gets its own /dev.
		u.res.Skipped++
		return nil
	case tar.TypeXGlobalHeader:
		return nil
	}
	u.res.Skipped++
	return nil
}

// parent opens the entry's parent directory, creating missing ones (some
// archivers leave directory entries out). A symlink on the way is refused:
// it could point anywhere.
func (u *unpacker) parent(dir, entry string) (int, error) {
	// A symlink still in the pool must be seen as one, not as missing.
	for d := dir; d != "." && d != "/"; d = path.Dir(d) {
		if err := u.pool.touch(d); err != nil {
			return -1, err
		}
	}
	if dir == u.lastDir && u.last != nil {
		return u.last.fd, nil
	}
	u.closeLast()
	fd, err := u.openDir(dir)
	if errors.Is(err, unix.ENOENT) {
		if err := u.mkdirAll(dir, entry); err != nil {
			return -1, err
		}
		fd, err = u.openDir(dir)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOTDIR) {
		return -1, hostile(entry, "a parent directory is a symlink or not a directory: writing through it could leave the layer")
	}
	if err != nil {
		return -1, &os.PathError{Op: "openat2", Path: dir, Err: err}
	}
	u.lastDir, u.last = dir, newDirRef(fd)
	return fd, nil
}

func (u *unpacker) closeLast() {
	if u.last != nil {
		u.last.release()
		u.last, u.lastDir = nil, ""
	}
}

func (u *unpacker) openDir(dir string) (int, error) {
	if dir == "." {
		return unix.Openat(u.root, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	return linux.Openat2(u.root, dir, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
}

// replace removes what an earlier entry of this layer left at base (a
// later entry wins, as in tar -x); keepDir leaves a directory alone.
func (u *unpacker) replace(parent int, base, name string, keepDir bool) error {
	if err := u.pool.touch(name); err != nil {
		return err
	}
	// The layer's directory was made empty, and everything in it is made
	// by an entry that comes here first (or by mkdirAll, which notes what
	// it makes): a path not seen yet holds nothing, so no lookup is due.
	at := path.Join(path.Dir(name), base)
	if _, ok := u.seen[at]; !ok {
		u.seen[at] = struct{}{}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if keepDir {
			return nil
		}
		if err := unix.Unlinkat(parent, base, unix.AT_REMOVEDIR); err != nil {
			return hostile(name, "replaces a non-empty directory of the same layer")
		}
		return nil
	}
	if err := unix.Unlinkat(parent, base, 0); err != nil {
		return &os.PathError{Op: "unlink", Path: name, Err: err}
	}
	return nil
}

func (u *unpacker) mkdir(parent int, base, name string, hdr *tar.Header) error {
	if err := u.replace(parent, base, name, true); err != nil {
		return err
	}
	if err := unix.Mkdirat(parent, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "mkdir", Path: name, Err: err}
	}
	u.dirs = append(u.dirs, dirAttrs{name: name, hdr: hdr})
	return nil
}

// finishDirs gives directories their modes, owners and times, deepest
// first, now that nothing more is written into them.
func (u *unpacker) finishDirs() error {
	u.closeLast()
	sort.SliceStable(u.dirs, func(i, j int) bool {
		return strings.Count(u.dirs[i].name, "/") > strings.Count(u.dirs[j].name, "/")
	})
	for _, d := range u.dirs {
		dir, base := path.Split(d.name)
		if d.name == "." {
			dir, base = ".", "."
		}
		parent, err := u.openDir(path.Clean(dir))
		if err != nil {
			return hostile(d.name, "a parent directory is a symlink or not a directory: writing through it could leave the layer")
		}
		err = u.attrs(parent, base, d.name, d.hdr, -1)
		unix.Close(parent)
		if err != nil {
			return err
		}
	}
	return nil
}
