package imagestore

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// LayerDiff is one path where two layers differ.
type LayerDiff struct {
	Path string // absolute, inside the image
	What string // e.g. "content differs", "mode 0644 in the first, 0600 in the second"
}

// HasBlob reports whether the store holds the blob digest.
func (s *Store) HasBlob(digest string) bool {
	if checkDigest(digest) != nil {
		return false
	}
	_, err := os.Stat(s.blobPath(digest))
	return err == nil
}

// DiffLayers compares two stored layer blobs (gzipped tars) entry by
// entry: names, types, modes, owners, sizes, link targets, mtimes, xattrs
// and content hashes. It returns the differences in path order. Two
// layers with no entry differing have the same tar; their blobs then
// differ only in compression.
func (s *Store) DiffLayers(a, b string) ([]LayerDiff, error) {
	ea, err := s.layerEntries(a)
	if err != nil {
		return nil, err
	}
	eb, err := s.layerEntries(b)
	if err != nil {
		return nil, err
	}
	var out []LayerDiff
	for name, x := range ea {
		y, ok := eb[name]
		switch {
		case !ok:
			out = append(out, LayerDiff{"/" + name, "only in the first"})
		case x != y:
			out = append(out, LayerDiff{"/" + name, x.differs(y)})
		}
	}
	for name := range eb {
		if _, ok := ea[name]; !ok {
			out = append(out, LayerDiff{"/" + name, "only in the second"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// tarEntry is what DiffLayers compares of one tar entry.
type tarEntry struct {
	typ      byte
	mode     int64
	uid, gid int
	size     int64
	link     string
	mtime    time.Time
	xattrs   string
	sum      string
}

func (x tarEntry) differs(y tarEntry) string {
	switch {
	case x.typ != y.typ:
		return fmt.Sprintf("type %q in the first, %q in the second", x.typ, y.typ)
	case x.size != y.size:
		return fmt.Sprintf("size %d in the first, %d in the second", x.size, y.size)
	case x.sum != y.sum:
		return fmt.Sprintf("content differs (sha256 %.12s in the first, %.12s in the second)", x.sum, y.sum)
	case x.mode != y.mode:
		return fmt.Sprintf("mode %04o in the first, %04o in the second", x.mode, y.mode)
	case x.uid != y.uid || x.gid != y.gid:
		return fmt.Sprintf("owner %d:%d in the first, %d:%d in the second", x.uid, x.gid, y.uid, y.gid)
	case x.link != y.link:
		return fmt.Sprintf("link to %q in the first, %q in the second", x.link, y.link)
	case !x.mtime.Equal(y.mtime):
		return fmt.Sprintf("mtime %s in the first, %s in the second", x.mtime.UTC().Format(time.RFC3339), y.mtime.UTC().Format(time.RFC3339))
	}
	return "xattrs differ"
}

// layerEntries reads a stored layer blob's entries by name.
func (s *Store) layerEntries(digest string) (map[string]tarEntry, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	f, err := os.Open(s.blobPath(digest))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading layer %s: %w", digest, err)
	}
	out := map[string]tarEntry{}
	tr := tar.NewReader(z)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer %s: %w", digest, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, tr); err != nil {
			return nil, fmt.Errorf("reading layer %s: %w", digest, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		out[name] = tarEntry{
			typ: hdr.Typeflag, mode: hdr.Mode, uid: hdr.Uid, gid: hdr.Gid, size: hdr.Size,
			link: hdr.Linkname, mtime: hdr.ModTime, xattrs: paxXattrs(hdr.PAXRecords),
			sum: hex.EncodeToString(h.Sum(nil)),
		}
	}
}

func paxXattrs(rec map[string]string) string {
	var xs []string
	for k, v := range rec {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			xs = append(xs, k+"="+v)
		}
	}
	sort.Strings(xs)
	return strings.Join(xs, "\x00")
}
