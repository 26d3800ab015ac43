package imagestore

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

// LayerFormat names what Pack writes for a tree and what UnpackFile
// makes of a layer. Setup steps' cache keys include it: change it with any
// change to either that can change a layer's bytes or an unpacked tree
// (entry order, headers, xattrs, whiteouts, the gzip settings or the
// compress module's version).
const LayerFormat = "sandbox-layer-1"

// PackRequest asks for a sandbox's upper layer as an OCI layer.
type PackRequest struct {
	Upper string `json:"upper"` // the overlay upper directory
	Dest  string `json:"dest"`  // the compressed layer file to write
	// Epoch clamps every mtime (SOURCE_DATE_EPOCH, or the base image's
	// creation time), so that the same change packs to the same digest.
	Epoch time.Time `json:"epoch"`
	// Ignore are paths (relative, slash-separated) left out: mountpoints
	// the sandbox made, not the user.
	Ignore []string `json:"ignore,omitempty"`
}

// PackResult describes the layer written.
type PackResult struct {
	Digest string `json:"digest"`  // of the compressed blob
	DiffID string `json:"diff_id"` // of the tar
	Size   int64  `json:"size"`
	Files  int    `json:"files"`
}

// Pack writes upper as a gzipped OCI layer: entries sorted by path, owners
// as numbers only, mtimes clamped to Epoch, no access or change times,
// overlay whiteouts (0/0 character devices) as .wh. entries and opaque
// directories as .wh..wh..opq, fixed gzip settings and an empty gzip
// header. It reads everything whatever its mode, so it must run where the
// files' owners are mapped and the caller has CAP_DAC_READ_SEARCH (the
// unpacker's namespace).
func Pack(req PackRequest) (PackResult, error) {
	var res PackResult
	f, err := os.OpenFile(req.Dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return res, err
	}
	defer f.Close()
	blobHash := sha256.New()
	counter := &countWriter{w: io.MultiWriter(f, blobHash)}
	zw, err := gzip.NewWriterLevel(counter, gzip.DefaultCompression)
	if err != nil {
		return res, err
	}
	tarHash := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, tarHash))
	ignore := map[string]bool{}
	for _, p := range req.Ignore {
		ignore[strings.Trim(p, "/")] = true
	}
	paths, err := walkSorted(req.Upper, ignore)
	if err != nil {
		return res, err
	}
	links := map[uint64]string{} // inode → first path, for hardlinks
	for _, rel := range paths {
		if err := packEntry(tw, req.Upper, rel, req.Epoch, links); err != nil {
			return res, err
		}
		res.Files++
	}
	if err := tw.Close(); err != nil {
		return res, err
	}
	if err := zw.Close(); err != nil {
		return res, err
	}
	if err := f.Sync(); err != nil {
		return res, err
	}
	res.Digest = "sha256:" + hex.EncodeToString(blobHash.Sum(nil))
	res.DiffID = "sha256:" + hex.EncodeToString(tarHash.Sum(nil))
	res.Size = counter.n
	return res, f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// walkSorted lists upper's entries in byte order of their paths, parents
// first, leaving out artefacts: ignored paths (mountpoints the sandbox
// made) that are empty files, or directories holding only artefacts.
func walkSorted(root string, ignore map[string]bool) ([]string, error) {
	entries, err := walkTyped(root, ignore)
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.rel
	}
	return out, err
}

type walked struct {
	rel string
	typ fs.FileMode
}

func walkTyped(root string, ignore map[string]bool) ([]walked, error) {
	var out []walked
	artefact := map[string]bool{}
	var isArtefact func(rel string) bool
	isArtefact = func(rel string) bool {
		if v, ok := artefact[rel]; ok {
			return v
		}
		v := false
		if ignore[rel] {
			fi, err := os.Lstat(filepath.Join(root, rel))
			switch {
			case err != nil:
			case fi.Mode().IsRegular():
				v = fi.Size() == 0
			case fi.IsDir():
				entries, err := os.ReadDir(filepath.Join(root, rel))
				v = err == nil
				for _, e := range entries {
					v = v && isArtefact(rel+"/"+e.Name())
				}
			}
		}
		artefact[rel] = v
		return v
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if isArtefact(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, walked{rel, d.Type()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, err
}

func packEntry(tw *tar.Writer, root, rel string, epoch time.Time, links map[uint64]string) error {
	p := filepath.Join(root, rel)
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	dir, base := filepath.Split(rel)
	mtime := time.Unix(st.Mtim.Unix())
	if !epoch.IsZero() && mtime.After(epoch) {
		mtime = epoch
	}
	hdr := &tar.Header{Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid), ModTime: mtime.UTC(), Format: tar.FormatPAX}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		if st.Rdev != 0 {
			return nil // a device node: not part of an image
		}
		// An overlay whiteout: the OCI form.
		return tw.WriteHeader(&tar.Header{Name: dir + whiteoutPrefix + base, Typeflag: tar.TypeReg, ModTime: hdr.ModTime, Format: tar.FormatPAX})
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if opaque(p) {
			return tw.WriteHeader(&tar.Header{Name: rel + "/" + whiteoutOpaque, Typeflag: tar.TypeReg, ModTime: hdr.ModTime, Format: tar.FormatPAX})
		}
		return nil
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return tw.WriteHeader(hdr)
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
		return tw.WriteHeader(hdr)
	case unix.S_IFREG:
		if st.Nlink > 1 {
			if first, ok := links[st.Ino]; ok {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				return tw.WriteHeader(hdr)
			}
			links[st.Ino] = rel
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		addUserXattrs(hdr, p)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(tw, f)
		if err == nil && n != st.Size {
			err = fmt.Errorf("%s changed while it was packed", rel)
		}
		return err
	}
	return nil // sockets: nothing to keep
}

func opaque(p string) bool {
	buf := make([]byte, 4)
	n, err := unix.Lgetxattr(p, OpaqueXattr, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// addUserXattrs records a file's user.* attributes, leaving overlay's own.
func addUserXattrs(hdr *tar.Header, p string) {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !strings.HasPrefix(name, "user.") || isPrivate(name) {
			continue
		}
		val := make([]byte, 4096)
		m, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+name] = string(val[:m])
	}
}

func isPrivate(xattr string) bool {
	for _, p := range privateXattrs {
		if strings.HasPrefix(xattr, p) {
			return true
		}
	}
	return false
}

// Change is one line of a sandbox's diff against its image.
type Change struct {
	Kind string `json:"kind"` // "A" added, "C" changed, "D" deleted
	Path string `json:"path"` // absolute, inside the sandbox
	// Protected: a project change apply refuses to write (IsProtected);
	// set for the project's changes only.
	Protected bool `json:"protected,omitempty"`
}

// Changes lists what upper changes in lowers (the image's layers, top
// first), in path order, leaving out ignored empty mountpoints.
func Changes(upper string, lowers []string, ignore []string) ([]Change, error) {
	skip := map[string]bool{}
	for _, p := range ignore {
		skip[strings.Trim(p, "/")] = true
	}
	entries, err := walkTyped(upper, skip)
	if err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(entries))
	// Below a directory the lowers lack, everything is added: no lookups.
	addedDirs := map[string]bool{}
	var gone []Change // lower entries hidden by an opaque directory
	for _, e := range entries {
		kind := "A"
		switch {
		case addedDirs[path.Dir(e.rel)]:
		case e.typ&fs.ModeCharDevice != 0 && isWhiteout(filepath.Join(upper, e.rel)):
			kind = "D"
		case inLowers(lowers, e.rel):
			kind = "C"
		}
		if kind == "A" && e.typ.IsDir() {
			addedDirs[e.rel] = true
		}
		out = append(out, Change{Kind: kind, Path: "/" + e.rel})
		if kind == "C" && e.typ.IsDir() && opaque(filepath.Join(upper, e.rel)) {
			gone = append(gone, goneUnderOpaque(upper, lowers, e.rel)...)
		}
	}
	if len(gone) > 0 {
		out = append(out, gone...)
		sort.SliceStable(out, func(i, j int) bool { return pathLess(out[i].Path, out[j].Path) })
	}
	return out, nil
}

// inLowers reports whether rel exists in the stacked lowers, honouring
// their whiteouts and opaque directories.
func inLowers(lowers []string, rel string) bool {
	for _, l := range lowers {
		var st unix.Stat_t
		err := unix.Lstat(filepath.Join(l, rel), &st)
		if err == nil {
			return !(st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0)
		}
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			return false
		}
		// Stop below an opaque parent.
		for d := filepath.Dir(rel); d != "." && d != "/"; d = filepath.Dir(d) {
			if opaque(filepath.Join(l, d)) {
				return false
			}
		}
	}
	return false
}

func isWhiteout(p string) bool {
	var st unix.Stat_t
	return unix.Lstat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}
