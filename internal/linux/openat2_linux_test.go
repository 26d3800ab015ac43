package linux

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// lookupsUnderRenames resolves a path that walks ".." under
// RESOLVE_IN_ROOT n times while another goroutine renames a file in a
// loop, and counts the EAGAIN answers of open.
func lookupsUnderRenames(t *testing.T, n int, open func(int, string, *unix.OpenHow) (int, error)) int {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"a/b/c", "spin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		x, y := filepath.Join(dir, "spin", "x"), filepath.Join(dir, "spin", "y")
		if err := os.WriteFile(x, nil, 0o644); err != nil {
			return
		}
		for !stop.Load() {
			_ = os.Rename(x, y)
			x, y = y, x
		}
	}()
	defer func() { stop.Store(true); <-done }()
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	eagain := 0
	for range n {
		fd, err := open(root, "a/b/c/../../b/c/../../../a/b/c/../..", how)
		switch {
		case err == nil:
			unix.Close(fd)
		case errors.Is(err, unix.EAGAIN):
			eagain++
		default:
			t.Fatalf("openat2: %v", err)
		}
	}
	return eagain
}

// TestOpenat2RetriesEAGAIN: under a concurrent rename loop the raw
// system call answers EAGAIN now and then; the wrapper never passes one on.
func TestOpenat2RetriesEAGAIN(t *testing.T) {
	const n = 50000
	raw := lookupsUnderRenames(t, n, unix.Openat2)
	t.Logf("raw openat2: %d of %d lookups failed with EAGAIN", raw, n)
	if raw == 0 {
		t.Logf("the kernel returned no EAGAIN this time; the wrapper is still checked")
	}
	if got := lookupsUnderRenames(t, n, Openat2); got != 0 {
		t.Fatalf("Openat2: %d of %d lookups failed with EAGAIN, want 0", got, n)
	}
}

// TestEveryOpenat2GoesThroughTheWrapper: a direct unix.Openat2 anywhere
// else would bring the transient EAGAIN back.
func TestEveryOpenat2GoesThroughTheWrapper(t *testing.T) {
	err := filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".go" || strings.HasSuffix(p, "_test.go") || strings.HasPrefix(p, "../../internal/linux/") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "unix.Openat2(") {
			t.Errorf("%s calls unix.Openat2; use linux.Openat2, which retries EAGAIN", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
