package sandbox

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

// grantEdits are what a profile's devices and forwarded sockets add to a
// spec: mounts, variables, and whether the payload keeps the user's
// supplementary groups.
type grantEdits struct {
	ops mounts.Plan
	env map[string]string
	// keepGroups: a granted device is typically usable through a group
	// (kvm, render, video), so the payload keeps the groups the user has
	// on the host (podman's --group-add keep-groups). They show as
	// nobody's group inside, where they are not mapped, but the kernel
	// checks the host's ids, so access works as on the host.
	keepGroups bool
	// onImage: the root is an image's, not the host's.
	onImage bool
}

func (g *grantEdits) setenv(k, v string) {
	if g.env == nil {
		g.env = map[string]string{}
	}
	g.env[k] = v
}

// addGrants resolves the profile's devices and forwards against the host
// and adds them to spec. Without any, spec is left exactly as it was: no
// node, socket or variable appears that the profile did not ask for.
func addGrants(spec *Spec, p *profiles.Profile, h host.Host, files string) error {
	if len(p.Devices) == 0 && len(p.Forward.Names()) == 0 {
		return nil
	}
	g := &grantEdits{onImage: len(spec.Mounts) > 0 && spec.Mounts[0].Kind == mounts.Overlay}
	if err := g.addDevices(p.Devices); err != nil {
		return err
	}
	if err := g.addForwards(p.Forward, h, spec.Process.UID, files); err != nil {
		return err
	}
	spec.Mounts = spec.Mounts.With(g.ops...)
	spec.Process.Env = withEnv(spec.Process.Env, g.env, p.Env)
	spec.KeepGroups = g.keepGroups
	return nil
}

// withEnv sets vars in env (KEY=VALUE, sorted), except those the
// profile's own [env] sets: as everywhere, [env] wins.
func withEnv(env []string, vars, own map[string]string) []string {
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
func (g *grantEdits) addDevices(devices []string) error {
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
func (g *grantEdits) addNode(src, target, what string) error {
	if err := checkDevice(src); err != nil {
		if what != src {
			return &DeviceError{Device: what, Err: err}
		}
		return err
	}
	for _, op := range g.ops {
		if op.Target == target {
			return nil
		}
	}
	g.ops = append(g.ops, mounts.Op{Kind: mounts.Device, Source: src, Target: target})
	g.keepGroups = true
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
