package session

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/internal/linux"
	"sandbox/sandbox"
)

// hashInputs writes each input file's project-relative path and SHA-256
// into h, in path order. The files are read beneath the project without
// following any symlink: a committed link `d -> ~/.ssh` with inputs =
// ["d/*"] would otherwise hash the host's secrets into the step key, which
// sandbox.lock publishes (review 13, #10).
func hashInputs(h io.Writer, project string, inputs []string) error {
	files, err := inputFiles(project, inputs)
	if err != nil {
		return err
	}
	dir, err := unix.Open(project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: project, Err: err}
	}
	defer unix.Close(dir)
	for _, f := range files {
		sum, err := inputSHA256(dir, project, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "input\x00%s\x00%s\x00", f, sum)
	}
	return nil
}

// inputFiles expands the inputs (paths or globs; a directory stands for
// every file below it) to sorted project-relative file paths. A match
// that is a symlink, lies behind one, or holds one is an error naming it.
func inputFiles(project string, inputs []string) ([]string, error) {
	seen := map[string]bool{}
	for _, in := range inputs {
		matches, err := filepath.Glob(filepath.Join(project, in))
		if err != nil || len(matches) == 0 {
			return nil, &sandbox.SetupError{Msg: fmt.Sprintf("setup input %q matches no file in the project", in), Fix: "fix the path in inputs, or create the file"}
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(project, m)
			if link := linkOnPath(project, filepath.Dir(rel)); link != "" {
				return nil, symlinkInput(in, link)
			}
			err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(project, p)
				switch {
				case d.Type()&fs.ModeSymlink != 0:
					return symlinkInput(in, rel)
				case d.Type().IsRegular():
					seen[filepath.ToSlash(rel)] = true
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// linkOnPath is the first directory of rel (relative to project) that is
// a symlink, or "".
func linkOnPath(project, rel string) string {
	if rel == "." {
		return ""
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		if fi, err := os.Lstat(filepath.Join(project, p)); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return p
		}
	}
	return ""
}

func symlinkInput(in, link string) error {
	return &sandbox.SetupError{
		Msg: fmt.Sprintf("setup input %q: %s is a symlink; inputs are read inside the project without following symlinks", in, link),
		Fix: "name the files themselves in inputs (the link's target, if it lies in the project), or replace the link by what it points to",
	}
}

// inputSHA256 hashes the project file rel, opened beneath the project dir
// with no symlink followed (a link swapped in after inputFiles looked is
// refused, not read).
func inputSHA256(dir int, project, rel string) (string, error) {
	fd, err := linux.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
		return "", symlinkInput(rel, rel)
	}
	if err != nil {
		return "", &os.PathError{Op: "open", Path: filepath.Join(project, rel), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(project, rel))
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
