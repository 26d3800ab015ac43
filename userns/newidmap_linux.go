package userns

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Files holding the subordinate ranges; variables so tests can point
// elsewhere.
var (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

// Mapping is the id layout of one sandbox's outer user namespace.
type Mapping struct {
	UIDs, GIDs []IDMap
	// Degraded, when set, says why only the user's own id is mapped (no
	// subordinate ranges, or no newuidmap): files of other owners then show
	// as nobody, and setgroups is denied.
	Degraded string
}

// NewMapping reads the subordinate ranges of the user (name, uid, gid) and
// picks the full layout when both ranges and both helpers exist, else the
// single-id one.
func NewMapping(name string, uid, gid int) (*Mapping, error) {
	subU, err := SubIDs(SubUIDFile, name, uid)
	if err != nil {
		return nil, err
	}
	subG, err := SubIDs(SubGIDFile, name, uid)
	if err != nil {
		return nil, err
	}
	single := &Mapping{UIDs: Outer(uid, nil), GIDs: Outer(gid, nil)}
	switch {
	case len(subU) == 0:
		single.Degraded = fmt.Sprintf("no range for %s in %s", name, SubUIDFile)
	case len(subG) == 0:
		single.Degraded = fmt.Sprintf("no range for %s in %s", name, SubGIDFile)
	default:
		for _, helper := range []string{"newuidmap", "newgidmap"} {
			if _, err := exec.LookPath(helper); err != nil {
				single.Degraded = helper + " not found (install package uidmap)"
				return single, nil
			}
		}
		if err := selfOverlap(SubUIDFile, name, uid, uid); err != nil {
			return nil, err
		}
		if err := selfOverlap(SubGIDFile, name, uid, gid); err != nil {
			return nil, err
		}
		return &Mapping{UIDs: Outer(uid, subU), GIDs: Outer(gid, subG)}, nil
	}
	return single, nil
}

// SelfOnly is the single-id layout by choice, for a run that needs no id
// but the user's own: no subordinate range is read and no setuid helper
// runs (bubblewrap's map). Unlike a Degraded one it is not a loss to report.
func SelfOnly(uid, gid int) *Mapping {
	return &Mapping{UIDs: Outer(uid, nil), GIDs: Outer(gid, nil)}
}

// Single reports whether only the user's own ids are mapped: then
// setgroups is denied in the namespace and everything nested in it.
func (m *Mapping) Single() bool { return len(m.UIDs) == 1 && len(m.GIDs) == 1 }

// Write installs the mapping on the user namespace of process pid, which
// must not have a mapping yet. The full layout goes through the setuid
// helpers newuidmap and newgidmap, run in parallel; the single-id one is
// written directly, as an unprivileged process may do for its own ids.
func (m *Mapping) Write(pid int) error {
	if m.Single() {
		return writeSingle(pid, m.UIDs, m.GIDs)
	}
	gidErr := make(chan error, 1)
	go func() { gidErr <- runHelper("newgidmap", pid, m.GIDs) }()
	uidErr := runHelper("newuidmap", pid, m.UIDs)
	return errors.Join(uidErr, <-gidErr)
}

func runHelper(helper string, pid int, maps []IDMap) error {
	argv := append([]string{strconv.Itoa(pid)}, args(maps)...)
	cmd := exec.Command(helper, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return &HelperError{Argv: append([]string{helper}, argv...), Stderr: msg, Err: err}
	}
	return nil
}

func writeSingle(pid int, uids, gids []IDMap) error {
	proc := "/proc/" + strconv.Itoa(pid) + "/"
	for _, w := range []struct{ file, data string }{
		{"uid_map", Format(uids)},
		{"setgroups", "deny"},
		{"gid_map", Format(gids)},
	} {
		if err := os.WriteFile(proc+w.file, []byte(w.data), 0); err != nil {
			return fmt.Errorf("writing id map: %w", err)
		}
	}
	return nil
}

// HelperError is a failed newuidmap or newgidmap run.
type HelperError struct {
	Argv   []string
	Stderr string
	Err    error
}

func (e *HelperError) Error() string {
	return fmt.Sprintf("cannot map ids: %s: %s", strings.Join(e.Argv, " "), e.Stderr)
}

func (e *HelperError) Unwrap() error { return e.Err }

// Hint says what usually fixes a failing helper.
func (e *HelperError) Hint() string {
	if strings.Contains(e.Stderr, "Invalid argument") {
		return "the kernel refused the map, which is not a setuid problem: check /etc/subuid and /etc/subgid for ranges that overlap each other or hold your own id (sandbox doctor names them)"
	}
	return fmt.Sprintf("check that %s is setuid root or has file capabilities (ls -l $(command -v %s)) and that /etc/subuid and /etc/subgid give you a range (sandbox doctor)", e.Argv[0], e.Argv[0])
}
