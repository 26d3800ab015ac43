package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Delegation is what this process may do with cgroup v2.
type Delegation struct {
	Mount       string   // where cgroup2 is mounted; "" when not at all
	Dir         string   // the cgroup sandboxes are created under: ours, or the parent of our supervisor leaf
	Controllers []string // controllers available in Dir (cgroup.controllers)
	Writable    bool     // whether we may create children and enable controllers
}

// Has reports whether every named controller is available.
func (d Delegation) Has(names ...string) bool {
	for _, n := range names {
		found := false
		for _, c := range d.Controllers {
			found = found || c == n
		}
		if !found {
			return false
		}
	}
	return true
}

// Detect reads /proc/self/mountinfo and /proc/self/cgroup.
func Detect() (Delegation, error) {
	var d Delegation
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return d, err
	}
	defer mi.Close()
	if d.Mount, err = ParseMountinfo(mi); err != nil || d.Mount == "" {
		return d, err
	}
	self, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return d, err
	}
	defer self.Close()
	rel, err := ParseSelf(self)
	if err != nil {
		return d, err
	}
	d.Dir = filepath.Join(d.Mount, rel)
	if filepath.Base(d.Dir) == Supervisor {
		// An earlier run moved this process's ancestors into the
		// supervisor leaf; sandboxes go beside it, under its parent.
		d.Dir = filepath.Dir(d.Dir)
	}
	b, err := os.ReadFile(filepath.Join(d.Dir, "cgroup.controllers"))
	if err != nil {
		return d, fmt.Errorf("reading controllers: %w", err)
	}
	d.Controllers = strings.Fields(string(b))
	d.Writable = unix.Access(d.Dir, unix.W_OK) == nil &&
		unix.Access(filepath.Join(d.Dir, "cgroup.subtree_control"), unix.W_OK) == nil
	return d, nil
}
