// Package devices grants a sandbox what of the host a profile asks for by
// name: device nodes (devices, by path or as CDI devices) and the sockets
// of the user's agents and servers ([forward]). Each grant is checked on
// the host as the sandbox's init will open it, and becomes data: mounts
// and variables for the run's Spec, which package sandbox applies.
package devices

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/host"
	"sandbox/mounts"
	"sandbox/profiles"
)

// Grants are what a profile's devices and forwarded sockets add to a
// spec: mounts, variables, and whether the payload keeps the user's
// supplementary groups.
type Grants struct {
	Mounts mounts.Plan
	Env    map[string]string
	// KeepGroups: a granted device is typically usable through a group
	// (kvm, render, video), so the payload keeps the groups the user has
	// on the host (podman's --group-add keep-groups). They show as
	// nobody's group inside, where they are not mapped, but the kernel
	// checks the host's ids, so access works as on the host.
	KeepGroups bool
	// onImage: the root is an image's, not the host's.
	onImage bool
}

func (g *Grants) setenv(k, v string) {
	if g.Env == nil {
		g.Env = map[string]string{}
	}
	g.Env[k] = v
}

// Request is what a run asks for, and what the grants depend on.
type Request struct {
	// Devices are the profile's devices: host paths and CDI names.
	Devices []string
	// Forward is the profile's [forward] table.
	Forward profiles.Forward
	// Host is the invoking user, whose environment names the sockets.
	Host host.Host
	// UID is the payload's uid inside (gpg's /run/user/UID).
	UID int
	// Files is the run's directory for generated files (the X11 cookie).
	Files string
	// OnImage: the root is an image's, not the host's.
	OnImage bool
}

// Resolve resolves the devices and forwards of r against the host. It
// returns nil when r asks for none: no node, socket or variable appears
// that the profile did not ask for.
func Resolve(r Request) (*Grants, error) {
	if len(r.Devices) == 0 && len(r.Forward.Names()) == 0 {
		return nil, nil
	}
	g := &Grants{onImage: r.OnImage}
	if err := g.addDevices(r.Devices); err != nil {
		return nil, err
	}
	if err := g.addForwards(r.Forward, r.Host, r.UID, r.Files); err != nil {
		return nil, err
	}
	return g, nil
}

// WithEnv sets vars in env (KEY=VALUE, sorted), except those the
// profile's own [env] sets: as everywhere, [env] wins.
func WithEnv(env []string, vars, own map[string]string) []string {
	if len(vars) == 0 {
		return env
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for k, v := range vars {
		if _, set := own[k]; !set {
			m[k] = v
		}
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// addDevices resolves each devices entry: a host node, or a CDI device.
func (g *Grants) addDevices(devices []string) error {
	var cdiNames []string
	for _, d := range devices {
		if profiles.IsCDIDevice(d) {
			cdiNames = append(cdiNames, d)
			continue
		}
		if err := g.addNode(filepath.Clean(d), filepath.Clean(d), filepath.Clean(d)); err != nil {
			return err
		}
	}
	if len(cdiNames) > 0 {
		return g.addCDI(cdiNames)
	}
	return nil
}

// addNode checks the host device node src (opened without following a
// symlink: a character or block device the user can open) and binds it
// at target inside. what names it in errors.
func (g *Grants) addNode(src, target, what string) error {
	if err := checkDevice(src); err != nil {
		if what != src {
			return &DeviceError{Device: what, Err: err}
		}
		return err
	}
	for _, op := range g.Mounts {
		if op.Target == target {
			return nil
		}
	}
	g.Mounts = append(g.Mounts, mounts.Op{Kind: mounts.Device, Source: src, Target: target})
	g.KeepGroups = true
	return nil
}

// DeviceError is a granted device that cannot be given to the sandbox.
type DeviceError struct {
	Device string
	Err    error
}

func (e *DeviceError) Error() string { return fmt.Sprintf("device %s: %v", e.Device, e.Err) }
func (e *DeviceError) Unwrap() error { return e.Err }

// Hint says what usually fixes it.
func (e *DeviceError) Hint() string {
	var nt *mounts.NodeTypeError
	switch {
	case errors.Is(e.Err, unix.ENOENT):
		return "check the path (ls -l " + e.Device + "): the device or its driver is missing on this host; remove it from devices or --device"
	case errors.Is(e.Err, unix.ELOOP):
		return "it is, or lies under, a symlink: give the node's real path (readlink -f " + e.Device + ")"
	case errors.Is(e.Err, unix.EACCES), errors.Is(e.Err, unix.EPERM):
		return "you cannot open it on the host either: ask for access to it (usually membership in its group: ls -l " + e.Device + "; then log in again)"
	case errors.As(e.Err, &nt):
		return "devices lists device nodes only; bind other files with [[mount]] outside /dev"
	}
	return ""
}

// checkDevice opens path on the host as the sandbox's init will (no
// symlink followed, a character or block device) and checks the user can
// read or write it: the sandbox can do no more with it than the user.
func checkDevice(path string) error {
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &DeviceError{Device: path, Err: &os.PathError{Op: "open", Path: "/", Err: err}}
	}
	defer unix.Close(root)
	fd, err := mounts.OpenNode(root, path, unix.S_IFCHR)
	if err != nil {
		return &DeviceError{Device: path, Err: err}
	}
	defer unix.Close(fd)
	rErr := unix.Faccessat2(fd, "", unix.R_OK, unix.AT_EMPTY_PATH)
	wErr := unix.Faccessat2(fd, "", unix.W_OK, unix.AT_EMPTY_PATH)
	if rErr != nil && wErr != nil {
		return &DeviceError{Device: path, Err: fmt.Errorf("you can neither read nor write it: %w", wErr)}
	}
	return nil
}
