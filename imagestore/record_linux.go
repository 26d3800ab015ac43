package imagestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// recordVersion is the format of a layer record. A reader refuses a
// version it does not know (fsck then says to unpack the layer again)
// rather than misreading it.
const recordVersion = 2

// LayerRecord is what an unpack wrote, kept beside the layer under
// records/ so that fsck can tell a changed file from the original: every
// path with its type, mode, owner, size, mtime and, for a regular file,
// the SHA-256 of its content.
type LayerRecord struct {
	Version int           `json:"version"`
	DiffID  string        `json:"diff_id"`
	Entries []RecordEntry `json:"entries"` // in lexical walk order
}

// RecordEntry is one path of a layer.
type RecordEntry struct {
	Path   string `json:"path"` // relative to the layer, "." for its root
	Mode   uint32 `json:"mode"` // st_mode: type and permission bits
	UID    uint32 `json:"uid"`  // as the unpacker's namespace sees it
	GID    uint32 `json:"gid"`
	Size   int64  `json:"size"`
	Mtime  int64  `json:"mtime"`            // nanoseconds since the epoch
	Rdev   uint64 `json:"rdev,omitempty"`   // overlay whiteouts are char 0/0
	Link   string `json:"link,omitempty"`   // a symlink's target
	SHA256 string `json:"sha256,omitempty"` // a regular file's content
	// Xattrs are the path's user.* attributes (version 2 on): the ones an
	// unpack sets, and the ones a rootless overlay obeys (user.overlay.*:
	// opaque, redirect, metacopy), so one added later is found too.
	Xattrs map[string][]byte `json:"xattrs,omitempty"`
}

// recordTree walks dir and describes it, hashing every regular file whose
// content's hash is not in sums (path -> hex SHA-256, what the unpack
// wrote there).
func recordTree(dir, diffID string, sums *contentSums) (*LayerRecord, error) {
	rec := &LayerRecord{Version: recordVersion, DiffID: diffID}
	err := walkLayer(dir, func(rel string, st *unix.Stat_t) error {
		sum, known := sums.get(rel)
		e, err := describe(dir, rel, st, !known)
		if err != nil {
			return err
		}
		if known && st.Mode&unix.S_IFMT == unix.S_IFREG {
			e.SHA256 = sum
		}
		rec.Entries = append(rec.Entries, e)
		return nil
	})
	return rec, err
}

// writeRecord records the unpacked tree dir at name (atomically); sums
// may be nil.
func writeRecord(dir, diffID, name string, sums *contentSums) error {
	rec, err := recordTree(dir, diffID, sums)
	if err != nil {
		return fmt.Errorf("recording layer %s: %w", short(diffID), err)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(name, data, filepath.Dir(name))
}

// walkLayer calls fn for every path under dir in lexical order, lstat-ed,
// without following symlinks.
func walkLayer(dir string, fn func(rel string, st *unix.Stat_t) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		return fn(rel, &st)
	})
}

// describe makes the record entry of one path; content hashes only if
// hash (a regular file that cannot be opened, mode 0 in a store without
// subordinate ids, keeps only its size and mtime).
func describe(dir, rel string, st *unix.Stat_t, hash bool) (RecordEntry, error) {
	e := RecordEntry{
		Path: rel, Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size,
		Mtime: st.Mtim.Nano(),
	}
	p := filepath.Join(dir, rel)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		l, err := os.Readlink(p)
		if err != nil {
			return e, err
		}
		e.Link = l
	case unix.S_IFCHR, unix.S_IFBLK:
		e.Rdev = st.Rdev
	case unix.S_IFREG:
		if !hash {
			break
		}
		sum, err := hashFile(p)
		if errors.Is(err, os.ErrPermission) {
			break
		}
		if err != nil {
			return e, err
		}
		e.SHA256 = sum
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		e.Size = 0 // a directory's size is the file system's business
	}
	x, err := userXattrs(p)
	e.Xattrs = x
	return e, err
}

// userXattrs reads the user.* attributes of p, not following a symlink;
// nil when it has none or the file system keeps none.
func userXattrs(p string) (map[string][]byte, error) {
	buf := make([]byte, 1024)
	n, err := unix.Llistxattr(p, buf)
	if errors.Is(err, unix.ERANGE) {
		if n, err = unix.Llistxattr(p, nil); err == nil {
			buf = make([]byte, n)
			n, err = unix.Llistxattr(p, buf)
		}
	}
	if errors.Is(err, unix.ENOTSUP) || n == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, &os.PathError{Op: "llistxattr", Path: p, Err: err}
	}
	var out map[string][]byte
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !strings.HasPrefix(name, "user.") {
			continue
		}
		size, err := unix.Lgetxattr(p, name, nil)
		if err != nil {
			return nil, &os.PathError{Op: "lgetxattr " + name, Path: p, Err: err}
		}
		val := make([]byte, size)
		if size > 0 {
			if size, err = unix.Lgetxattr(p, name, val); err != nil {
				return nil, &os.PathError{Op: "lgetxattr " + name, Path: p, Err: err}
			}
		}
		if out == nil {
			out = map[string][]byte{}
		}
		out[name] = val[:size]
	}
	return out, nil
}

func hashFile(p string) (string, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		// O_NOATIME is for the owner (or CAP_FOWNER) only.
		fd, err = unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return "", &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyRequest asks whether the unpacked layer Dir still matches its
// record.
type VerifyRequest struct {
	Dir    string `json:"dir"`
	Record string `json:"record"` // the record's path
	Full   bool   `json:"full"`   // hash every file, not only compare size and mtime
}

// VerifyResult lists what differs; empty means the layer is intact.
type VerifyResult struct {
	Problems []string `json:"problems,omitempty"`
	Files    int      `json:"files"` // paths checked
	// Unrecorded: the layer has no record (unpacked by a sandbox from
	// before records), so nothing could be checked.
	Unrecorded bool `json:"unrecorded,omitempty"`
}

// maxProblems bounds what a verify reports of one layer.
const maxProblems = 20

// Verify compares the layer req.Dir with its record. A missing or
// unknown record is a problem too (the layer cannot be vouched for).
func Verify(req VerifyRequest) (VerifyResult, error) {
	var res VerifyResult
	data, err := os.ReadFile(req.Record)
	if errors.Is(err, os.ErrNotExist) {
		res.Unrecorded = true
		return res, nil
	}
	if err != nil {
		return res, err
	}
	var rec LayerRecord
	// Version 1 records (before attributes were recorded) still vouch for
	// everything else.
	if err := json.Unmarshal(data, &rec); err != nil || (rec.Version != recordVersion && rec.Version != 1) {
		res.Problems = []string{fmt.Sprintf("its record %s is unreadable or of an unknown version", req.Record)}
		return res, nil
	}
	want := make(map[string]RecordEntry, len(rec.Entries))
	for _, e := range rec.Entries {
		want[e.Path] = e
	}
	add := func(format string, args ...any) {
		if len(res.Problems) < maxProblems {
			res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		}
	}
	err = walkLayer(req.Dir, func(rel string, st *unix.Stat_t) error {
		res.Files++
		w, ok := want[rel]
		if !ok {
			add("%s: not in the layer", rel)
			return nil
		}
		delete(want, rel)
		got, err := describe(req.Dir, rel, st, req.Full && st.Mode&unix.S_IFMT == unix.S_IFREG && w.SHA256 != "")
		if err != nil {
			return err
		}
		if !req.Full {
			got.SHA256, w.SHA256 = "", ""
		}
		if rec.Version == 1 {
			got.Xattrs = nil
		}
		if d := differs(w, got); d != "" {
			add("%s: %s", rel, d)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	for p := range want {
		add("%s: missing", p)
	}
	return res, nil
}

// differs names the first difference between a recorded and a found entry.
func differs(want, got RecordEntry) string {
	switch {
	case want.Mode != got.Mode:
		return fmt.Sprintf("mode %o, recorded %o", got.Mode, want.Mode)
	case want.UID != got.UID || want.GID != got.GID:
		return fmt.Sprintf("owner %d:%d, recorded %d:%d", got.UID, got.GID, want.UID, want.GID)
	case want.Link != got.Link:
		return fmt.Sprintf("symlink to %q, recorded %q", got.Link, want.Link)
	case want.Rdev != got.Rdev:
		return "device number changed"
	case want.Size != got.Size:
		return fmt.Sprintf("%d bytes, recorded %d", got.Size, want.Size)
	case want.Mtime != got.Mtime && want.Mode&unix.S_IFMT != unix.S_IFDIR:
		return "modified since it was unpacked (mtime)"
	case want.SHA256 != got.SHA256:
		return "content differs from what was unpacked"
	case !maps.EqualFunc(want.Xattrs, got.Xattrs, bytes.Equal):
		return "extended attributes differ from what was unpacked"
	}
	return ""
}
