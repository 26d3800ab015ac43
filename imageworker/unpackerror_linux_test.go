package imageworker

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"sandbox/imagestore"
)

// TestUnpackerKeepsTheErrno: an error of the helper keeps its errno across
// the pipe, so that a full disk (ENOSPC) is still recognised as one.
func TestUnpackerKeepsTheErrno(t *testing.T) {
	dir := t.TempDir()
	r := serveUnpack(workerRequest{Op: "unpack", Unpack: &imagestore.UnpackRequest{
		Blob: filepath.Join(dir, "missing"), Dest: filepath.Join(dir, "layer"),
		DiffID: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	}})
	err := error(&workerError{msg: r.Error, errno: syscall.Errno(r.Errno)})
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("helper error %q (errno %d) is not ENOENT on the caller's side", r.Error, r.Errno)
	}
	if errors.Is(&workerError{msg: "x"}, syscall.Errno(0)) {
		t.Error("an error without errno unwraps to errno 0")
	}
}
