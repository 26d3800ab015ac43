package session

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/mounts"
	"sandbox/sandbox"
)

// sourceBeneath checks a bind source against the project: a source in the
// project is opened below it without following symlinks (its init does
// the same when it mounts it, by fd), since the sandbox can write there
// and may have made it a link to a host directory. It returns the
// directory to open the source beneath ("" for a source outside the
// project: the profile's author named it, and trusting it is a grant).
func sourceBeneath(src, target, project string) (string, error) {
	rel, err := filepath.Rel(project, src)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", nil
	}
	if rel == "." {
		return project, nil
	}
	dir, err := unix.Open(project, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("opening the project %s: %w", project, err)
	}
	defer unix.Close(dir)
	fd, err := mounts.OpenNoFollow(dir, rel)
	switch {
	case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV):
		return "", &sandbox.SetupError{
			Msg: fmt.Sprintf("mount source %s (for %s) is a symlink, or lies behind one in the project: refusing to follow it", src, target),
			Fix: "a sandbox can replace what it may write: check where it points (ls -l " + src + "), then remove it and make it a directory again",
		}
	case errors.Is(err, unix.ENOENT):
		return "", &sandbox.SetupError{
			Msg: fmt.Sprintf("mount source %s (for %s) does not exist", src, target),
			Fix: "create it (mkdir -p " + src + "), or remove the mount from the profile",
		}
	case err != nil:
		return "", fmt.Errorf("opening mount source %s: %w", src, err)
	}
	unix.Close(fd)
	return project, nil
}
