package imagestore

import (
	"bytes"
	"crypto/rand"
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

	"golang.org/x/sys/unix"

	"sandbox/internal/linux"
)

// FileState is what a project file looked like when a sandbox's overlay
// over the project started from it: enough to tell a later host edit.
type FileState struct {
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Mode  uint32 `json:"mode"`
}

// Snapshot records the state of every file below dir (not directories).
func Snapshot(dir string) (map[string]FileState, error) {
	out := map[string]FileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrPermission) {
			// A directory the host user cannot read (a mode-000 directory
			// an apply brought in): its files are not recorded, so a host
			// edit there is judged by content alone.
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if st, ok := stateOf(p); ok {
			out[filepath.ToSlash(rel)] = st
		}
		return nil
	})
	return out, err
}

func stateOf(p string) (FileState, bool) {
	var st unix.Stat_t
	if unix.Lstat(p, &st) != nil {
		return FileState{}, false
	}
	return FileState{Size: st.Size, Mtime: st.Mtim.Nano(), Mode: st.Mode}, true
}

// ApplyRequest asks to write a project overlay's changes to the project.
type ApplyRequest struct {
	Upper    string               `json:"upper"`
	Project  string               `json:"project"`
	Snapshot map[string]FileState `json:"snapshot"`
	// Protected are the project's protected paths (path.Match patterns,
	// relative): apply writes none of them, nor any path with a .git
	// component (ProtectedError).
	Protected []string `json:"protected,omitempty"`
}

// ConflictError lists project files changed on the host since the sandbox
// started from them, which apply would overwrite.
type ConflictError struct {
	Paths []string `json:"paths"`
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("the project changed on the host since the sandbox started from it: %s (nothing was applied)", strings.Join(e.Paths, ", "))
}

// Hint says how to resolve it.
func (e *ConflictError) Hint() string {
	return "look at sandbox diff --project, then undo the host edits or sandbox discard the sandbox's changes"
}

// Apply writes the changes in upper to the project: new and changed files
// (each to a temporary beside it, synced, renamed over: never half
// written), directories, symlinks, deletions. Every path is resolved under
// the project with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, so nothing is
// written through a symlink, and a file the host changed since the
// snapshot is a conflict: then nothing at all is written. Applying again
// after a crash is safe: a file already holding the sandbox's content is
// not a conflict.
func Apply(req ApplyRequest) ([]Change, error) {
	entries, err := walkTyped(req.Upper, nil)
	if err != nil {
		return nil, err
	}
	root, err := unix.Open(req.Project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: req.Project, Err: err}
	}
	defer unix.Close(root)
	// What an interrupted apply left goes first; it is no change.
	if _, err := ApplyLeftovers(req.Upper, req.Project, true); err != nil {
		return nil, err
	}
	if bad := protectedEntries(entries, req.Protected); len(bad) > 0 {
		return nil, &ProtectedError{Paths: bad}
	}
	var conflicts []string
	for _, e := range entries {
		// Everything is read before anything is written: a source that
		// cannot be read fails here, with the project untouched.
		if err := readable(req.Upper, e); err != nil {
			return nil, fmt.Errorf("reading the sandbox's %s (nothing was applied): %w", e.rel, err)
		}
		// A parent the host turned into a symlink (or a file) would
		// redirect the write: refuse before writing anything.
		if fd, err := openBeneath(root, path.Dir(e.rel)); err == nil {
			unix.Close(fd)
		} else if !errors.Is(err, unix.ENOENT) {
			conflicts = append(conflicts, e.rel+" (its directory is a symlink or not a directory on the host)")
			continue
		}
		if !e.typ.IsDir() && conflicted(req, e) {
			conflicts = append(conflicts, e.rel)
		}
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return nil, &ConflictError{Paths: conflicts}
	}
	var done []Change
	for _, e := range entries {
		ch, err := applyEntry(root, req.Upper, e)
		if err != nil {
			return done, err
		}
		done = append(done, ch)
	}
	return done, nil
}

// readable checks that apply can read what it will copy from upper.
func readable(upper string, e walked) error {
	src := filepath.Join(upper, e.rel)
	switch {
	case e.typ&fs.ModeCharDevice != 0:
		return nil
	case e.typ&fs.ModeSymlink != 0:
		_, err := os.Readlink(src)
		return err
	case e.typ.IsDir():
		_, err := os.Stat(src)
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	return f.Close()
}

// conflicted: the host's file differs from the snapshot and from what the
// sandbox would write.
func conflicted(req ApplyRequest, e walked) bool {
	host := filepath.Join(req.Project, e.rel)
	now, exists := stateOf(host)
	was, known := req.Snapshot[e.rel]
	switch {
	case !exists:
		return known && e.typ&fs.ModeCharDevice == 0 // deleted on the host, changed inside
	case known && now == was:
		return false
	case e.typ&fs.ModeCharDevice != 0:
		return true // to delete, but changed on the host
	}
	return !sameContent(host, filepath.Join(req.Upper, e.rel))
}

func sameContent(a, b string) bool {
	ta, errA := os.Readlink(a)
	tb, errB := os.Readlink(b)
	if errA == nil || errB == nil {
		return errA == nil && errB == nil && ta == tb
	}
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func applyEntry(root int, upper string, e walked) (Change, error) {
	dir, base := path.Split(e.rel)
	parent, err := openBeneath(root, path.Clean(dir))
	if err != nil {
		return Change{}, fmt.Errorf("applying %s: its directory is not a plain directory of the project (a symlink?): %w", e.rel, err)
	}
	defer unix.Close(parent)
	src := filepath.Join(upper, e.rel)
	ch := Change{Kind: "C", Path: e.rel}
	var st unix.Stat_t
	if unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		ch.Kind = "A"
	}
	switch {
	case e.typ.IsDir():
		fi, err := os.Stat(src)
		if err != nil {
			return ch, err
		}
		if ch.Kind == "A" {
			if err := unix.Mkdirat(parent, base, uint32(fi.Mode().Perm())); err != nil {
				return ch, &os.PathError{Op: "mkdir", Path: e.rel, Err: err}
			}
		} else if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return ch, fmt.Errorf("applying %s: a directory inside, not one on the host", e.rel)
		}
		if opaque(src) {
			return ch, clearBeneath(parent, base, src)
		}
		return ch, nil
	case e.typ&fs.ModeCharDevice != 0:
		ch.Kind = "D"
		if err := removeBeneath(parent, base); err != nil && !errors.Is(err, unix.ENOENT) {
			return ch, &os.PathError{Op: "remove", Path: e.rel, Err: err}
		}
		return ch, nil
	}
	tmp := applyTempPrefix + randomSuffix()
	if e.typ&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return ch, err
		}
		if err := unix.Symlinkat(target, parent, tmp); err != nil {
			return ch, &os.PathError{Op: "symlink", Path: e.rel, Err: err}
		}
	} else if err := copyInto(parent, tmp, src); err != nil {
		unix.Unlinkat(parent, tmp, 0)
		return ch, fmt.Errorf("applying %s: %w", e.rel, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := removeBeneath(parent, base); err != nil {
			unix.Unlinkat(parent, tmp, 0)
			return ch, err
		}
	}
	if err := unix.Renameat(parent, tmp, parent, base); err != nil {
		unix.Unlinkat(parent, tmp, 0)
		return ch, &os.PathError{Op: "rename", Path: e.rel, Err: err}
	}
	return ch, nil
}

func openBeneath(root int, dir string) (int, error) {
	if dir == "." || dir == "" {
		return unix.Openat(root, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	return linux.Openat2(root, dir, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
}

// copyInto writes src's content and mode to a new file name in parent, synced.
func copyInto(parent int, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	fd, err := unix.Openat(parent, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(fd), name)
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		return err
	}
	return out.Sync()
}

// removeBeneath removes parent/name, a file or a whole tree, without
// following symlinks.
func removeBeneath(parent int, name string) error {
	if err := unix.Unlinkat(parent, name, 0); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	dir, err := openBeneath(parent, name)
	if err != nil {
		return err
	}
	p := fdPath(dir)
	entries, _ := os.ReadDir(p)
	for _, e := range entries {
		if err := removeBeneath(dir, e.Name()); err != nil {
			unix.Close(dir)
			return err
		}
	}
	unix.Close(dir)
	return unix.Unlinkat(parent, name, unix.AT_REMOVEDIR)
}

// clearBeneath removes what the host has in an opaque directory that the
// sandbox's copy lacks.
func clearBeneath(parent int, name, upperDir string) error {
	dir, err := openBeneath(parent, name)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	entries, _ := os.ReadDir(fdPath(dir))
	for _, e := range entries {
		if _, err := os.Lstat(filepath.Join(upperDir, e.Name())); err == nil {
			continue
		}
		if err := removeBeneath(dir, e.Name()); err != nil {
			return err
		}
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
