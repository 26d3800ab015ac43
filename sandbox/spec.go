package sandbox

import (
	"errors"
	"fmt"
	"path"

	"sandbox/console"
	"sandbox/mounts"
	"sandbox/network"
	"sandbox/profiles"
	"sandbox/userns"
)

// Spec is the resolved, serialisable description of one run: everything
// the sandbox's init needs, and nothing it has to look up on the host. The
// parent builds it (session.NewSpec) and sends it over the sync socket.
type Spec struct {
	Hostname string      `json:"hostname"`
	Mounts   mounts.Plan `json:"mounts"`
	Process  Process     `json:"process"`
	// UIDMap and GIDMap map the payload's nested user namespace onto the
	// sandbox's outer one; see doc.go for why there are two.
	UIDMap []userns.IDMap `json:"uid_map"`
	GIDMap []userns.IDMap `json:"gid_map"`
	// SetGroups is false in the single-id layout, where setgroups(2) is
	// denied.
	SetGroups bool `json:"setgroups"`
	// KeepGroups: the payload keeps the user's supplementary groups (for
	// granted devices), instead of dropping them with setgroups(2).
	KeepGroups bool `json:"keep_groups,omitempty"`
	// Child is init's part of the network mode (Driver.Child): its fields
	// (network, unreachable, watch_host_addrs) are the Spec's own in JSON.
	network.Child
	// Scratch is an empty host directory the root can be built on where
	// pivot_root is impossible (a host running from its initramfs).
	Scratch string `json:"scratch,omitempty"`
	// PidsMax is the run's pids.max (0: none), which init's own threads
	// count against (threads_linux.go).
	PidsMax int `json:"pids_max,omitempty"`
	// Security is the profile's [security] table: the payload's seccomp
	// filter and whether it may nest user namespaces.
	Security profiles.Security `json:"security"`
}

// Process is the payload.
type Process struct {
	Args     []string     `json:"args"`
	Env      []string     `json:"env"`
	Cwd      string       `json:"cwd"`
	UID      int          `json:"uid"`
	GID      int          `json:"gid"`
	Terminal bool         `json:"terminal"`
	Size     console.Size `json:"size"`
	Rlimits  []Rlimit     `json:"rlimits,omitempty"`
}

// Rlimit is one setrlimit(2) value; Max is also the soft limit.
type Rlimit struct {
	Resource int    `json:"resource"`
	Name     string `json:"name"`
	Max      uint64 `json:"max"`
}

// Validate checks the invariants init relies on.
func (s *Spec) Validate() error {
	var errs []error
	if len(s.Process.Args) == 0 || s.Process.Args[0] == "" {
		errs = append(errs, errors.New("spec: no command"))
	}
	if !path.IsAbs(s.Process.Cwd) {
		errs = append(errs, fmt.Errorf("spec: working directory %q is not absolute", s.Process.Cwd))
	}
	if !userns.Contains(s.UIDMap, s.Process.UID) || !userns.Contains(s.GIDMap, s.Process.GID) {
		errs = append(errs, fmt.Errorf("spec: uid %d or gid %d is not mapped", s.Process.UID, s.Process.GID))
	}
	for _, op := range s.Mounts {
		if !path.IsAbs(op.Target) {
			errs = append(errs, fmt.Errorf("spec: mount target %q is not absolute", op.Target))
		}
	}
	return errors.Join(errs...)
}
