package imagestore

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// mkdirAll makes the missing directories of dir, one component at a time,
// each under an fd of its parent.
func (u *unpacker) mkdirAll(dir, entry string) error {
	cur := "."
	for _, part := range strings.Split(dir, "/") {
		fd, err := u.openDir(cur)
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EXDEV) {
				return hostile(entry, "a parent directory is a symlink or not a directory: writing through it could leave the layer")
			}
			return &os.PathError{Op: "openat2", Path: cur, Err: err}
		}
		err = unix.Mkdirat(fd, part, 0o755)
		unix.Close(fd)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &os.PathError{Op: "mkdir", Path: path.Join(cur, part), Err: err}
		}
		cur = path.Join(cur, part)
		u.seen[cur] = struct{}{}
	}
	return nil
}

func (u *unpacker) file(tr *tar.Reader, parent int, base, name string, hdr *tar.Header) error {
	if u.res.Bytes += hdr.Size; hdr.Size < 0 || u.res.Bytes > u.limits.LayerBytes {
		return hostile(name, "layer content exceeds the limit of %d bytes", u.limits.LayerBytes)
	}
	if err := u.replace(parent, base, name, false); err != nil {
		return err
	}
	if hdr.Size > smallFile {
		return u.writeFile(parent, base, name, hdr, tr)
	}
	body := make([]byte, hdr.Size)
	if _, err := io.ReadFull(tr, body); err != nil {
		return readError(name, err)
	}
	return u.pool.submit(name, u.last, func(parent int) error {
		return u.writeFile(parent, base, name, hdr, bytes.NewReader(body))
	})
}

func (u *unpacker) writeFile(parent int, base, name string, hdr *tar.Header, body io.Reader) error {
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	defer unix.Close(fd)
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(fdWriter(fd), h), body); err != nil {
		return readError(name, err)
	}
	if err := u.attrs(parent, base, name, hdr, fd); err != nil {
		return err
	}
	u.sums.set(name, hex.EncodeToString(h.Sum(nil)))
	return nil
}

func readError(name string, err error) error {
	var h *HostileError
	if errors.As(err, &h) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return hostile(name, "malformed layer: it ends in the middle of this file")
	}
	return fmt.Errorf("writing %s: %w", name, err)
}

func (u *unpacker) symlink(parent int, dir, base, name string, hdr *tar.Header) error {
	target := hdr.Linkname
	if target == "" || strings.ContainsRune(target, 0) {
		return hostile(name, "empty symlink target")
	}
	// An absolute target resolves inside the sandbox's root; a relative
	// one must not climb above the layer.
	if !path.IsAbs(target) {
		if j := path.Join(dir, target); j == ".." || strings.HasPrefix(j, "../") {
			return hostile(name, "symlink to %q escapes the layer", target)
		}
	}
	if err := u.replace(parent, base, name, false); err != nil {
		return err
	}
	return u.pool.submit(name, u.last, func(parent int) error {
		if err := unix.Symlinkat(target, parent, base); err != nil {
			return &os.PathError{Op: "symlink", Path: name, Err: err}
		}
		return u.attrs(parent, base, name, hdr, -1)
	})
}

func (u *unpacker) hardlink(parent int, base, name string, hdr *tar.Header) error {
	// Its target may still be in the pool.
	if err := u.pool.wait(); err != nil {
		return err
	}
	src, err := cleanName(hdr.Linkname)
	if err != nil || src == "." {
		return hostile(name, "hardlink to %q escapes the layer", hdr.Linkname)
	}
	sdir, sbase := path.Split(src)
	sfd, err := u.openDir(path.Clean(sdir))
	if err != nil {
		return hostile(name, "hardlink to %q, which is not in this layer", hdr.Linkname)
	}
	defer unix.Close(sfd)
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, sbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return hostile(name, "hardlink to %q, which is not a file in this layer", hdr.Linkname)
	}
	if src == name {
		return nil
	}
	if err := u.replace(parent, base, name, false); err != nil {
		return err
	}
	if err := unix.Linkat(sfd, sbase, parent, base, 0); err != nil {
		return &os.PathError{Op: "link", Path: name, Err: err}
	}
	// The same inode: its content was hashed under src, if it was
	// written, and files are never written again once created.
	if sum, ok := u.sums.get(src); ok {
		u.sums.set(name, sum)
	} else {
		u.sums.forget(name)
	}
	return nil
}

// contentSums maps entry names to the SHA-256 of the content the unpack
// wrote there; the pool's workers add to it concurrently. Every regular
// file of the layer is made by writeFile or hardlink, which set its name's
// sum (or forget a stale one), so a sum here is always its path's.
type contentSums struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *contentSums) set(name, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[name] = sum
}

func (c *contentSums) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}

func (c *contentSums) get(name string) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sum, ok := c.m[name]
	return sum, ok
}

// fdWriter writes to a file descriptor. An *os.File would cost an fcntl
// per file (os.NewFile asks whether the descriptor is non-blocking).
type fdWriter int

func (w fdWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(int(w), p[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}
