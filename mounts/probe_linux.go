package mounts

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ProbeOverlay mounts a kernel overlayfs with userxattr over three
// directories it makes in dir and unmounts it again. It must run in a user
// and mount namespace of its own; doctor runs it in its re-exec role
// "probe-overlay".
func ProbeOverlay(dir string) error {
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	data := "lowerdir=" + filepath.Join(dir, "lower") + ",upperdir=" + filepath.Join(dir, "upper") +
		",workdir=" + filepath.Join(dir, "work") + ",userxattr"
	merged := filepath.Join(dir, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, data); err != nil {
		return &Error{Op: "mount overlay " + data, Target: merged, Err: err}
	}
	return unix.Unmount(merged, unix.MNT_DETACH)
}
