package devices

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"tags.cncf.io/container-device-interface/pkg/cdi"
	"tags.cncf.io/container-device-interface/pkg/parser"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"sandbox/mounts"
	"sandbox/profiles"
)

// A profile's CDI device names are checked at load with the CDI library's
// own parser.
func init() {
	profiles.CheckCDIName = func(d string) error {
		_, _, _, err := parser.ParseQualifiedName(d)
		return err
	}
}

// CDISpecDirsEnv overrides where CDI specs are read from (a colon-separated
// list; tests point it at a directory of their own).
const CDISpecDirsEnv = "SANDBOX_CDI_SPEC_DIRS"

// CDISpecDirs are the directories holding Container Device Interface
// specs: /etc/cdi and /var/run/cdi (the CDI defaults, where `nvidia-ctk
// cdi generate` writes), unless $SANDBOX_CDI_SPEC_DIRS says otherwise.
func CDISpecDirs() []string {
	if v := os.Getenv(CDISpecDirsEnv); v != "" {
		return filepath.SplitList(v)
	}
	return cdi.DefaultSpecDirs
}

// openCDI reads the CDI specs, once, without the library's file watcher.
func openCDI() (*cdi.Cache, error) {
	c, err := cdi.NewCache(cdi.WithSpecDirs(CDISpecDirs()...), cdi.WithAutoRefresh(false))
	if err != nil && c == nil {
		return nil, fmt.Errorf("reading CDI specs in %s: %w", strings.Join(CDISpecDirs(), ", "), err)
	}
	return c, nil // errors in single specs leave their devices out; GetErrors has them
}

// CDIDevices lists the CDI devices the specs on this host define, and
// the problems found reading them (`sandbox doctor`).
func CDIDevices() (devices []string, problems []string) {
	c, err := openCDI()
	if err != nil {
		return nil, []string{err.Error()}
	}
	for file, errs := range c.GetErrors() {
		for _, e := range errs {
			problems = append(problems, fmt.Sprintf("%s: %v", file, e))
		}
	}
	sort.Strings(problems)
	return c.ListDevices(), problems
}

// addCDI resolves CDI devices through their specs: device nodes are bound
// like any granted node, mounts (driver libraries) read-only, env set.
// Hooks are programs a runtime runs as root on the host (podman's model);
// the sandbox never runs host programs for a device, so a hook is refused
// by name unless its effect is data we can apply ourselves.
func (g *Grants) addCDI(names []string) error {
	c, err := openCDI()
	if err != nil {
		return err
	}
	seenSpec := map[*cdi.Spec]bool{}
	for _, name := range names {
		d := c.GetDevice(name)
		if d == nil {
			return &DeviceError{Device: name, Err: cdiMissing(c, name)}
		}
		if s := d.GetSpec(); !seenSpec[s] {
			seenSpec[s] = true
			if err := g.applyCDI(name, s.GetPath(), s.ContainerEdits); err != nil {
				return err
			}
		}
		if err := g.applyCDI(name, d.GetSpec().GetPath(), d.ContainerEdits); err != nil {
			return err
		}
	}
	return nil
}

// cdiMissing says why a CDI name resolved to nothing.
func cdiMissing(c *cdi.Cache, name string) error {
	var errs []string
	for file, es := range c.GetErrors() {
		for _, e := range es {
			errs = append(errs, fmt.Sprintf("%s: %v", file, e))
		}
	}
	msg := "no CDI spec in " + strings.Join(CDISpecDirs(), ", ") + " defines it"
	if len(errs) > 0 {
		sort.Strings(errs)
		msg += " (specs with errors: " + strings.Join(errs, "; ") + ")"
	}
	return errors.New(msg)
}

// applyCDI applies one set of container edits from the spec file for the
// device name.
func (g *Grants) applyCDI(name, file string, e cdispec.ContainerEdits) error {
	bad := func(format string, args ...any) error {
		return &DeviceError{Device: name, Err: fmt.Errorf("%s: "+format, append([]any{file}, args...)...)}
	}
	for _, h := range e.Hooks {
		if err := g.cdiHook(h, g.onImage); err != nil {
			return bad("%v", err)
		}
	}
	if len(e.NetDevices) > 0 || e.IntelRdt != nil {
		return bad("network devices and Intel RDT are not supported in a rootless sandbox")
	}
	for _, kv := range e.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return bad("env %q is not KEY=VALUE", kv)
		}
		g.setenv(k, v)
	}
	for _, n := range e.DeviceNodes {
		src := n.HostPath
		if src == "" {
			src = n.Path
		}
		if !strings.HasPrefix(path.Clean(n.Path), "/dev/") {
			return bad("device node %s is not under /dev", n.Path)
		}
		if err := g.addNode(path.Clean(src), path.Clean(n.Path), name); err != nil {
			return err
		}
	}
	for _, m := range e.Mounts {
		if m.Type != "" && m.Type != "bind" {
			return bad("mount %s has type %q: only bind mounts are supported", m.ContainerPath, m.Type)
		}
		target := path.Clean(m.ContainerPath)
		if !path.IsAbs(target) || target == "/" || mounts.Under(target, "/proc", "/sys", "/dev") {
			return bad("mount target %q is not allowed", m.ContainerPath)
		}
		if _, err := os.Stat(m.HostPath); err != nil {
			return bad("mount source: %v", err)
		}
		// Read-only whatever the spec says: driver libraries are the
		// host's, and the sandbox must not change them.
		g.Mounts = append(g.Mounts, mounts.Op{Kind: mounts.Bind, Source: path.Clean(m.HostPath), Target: target, ReadOnly: true})
	}
	return nil
}

// cdiHook accepts the hooks whose effect is data the sandbox applies
// itself, and refuses the rest by name. Accepted are NVIDIA's
// (nvidia-cdi-hook, or nvidia-ctk hook): update-ldcache (its folders go on
// LD_LIBRARY_PATH instead of a host-run ldconfig), create-symlinks
// (symlink ops on an image; on the host base the host's own tree, links
// included, is what the sandbox sees), and enable-cuda-compat and
// disable-device-node-modification, which only tune a container that can
// create device nodes or lacks the host's libraries, neither of which a
// sandbox on the host base does.
func (g *Grants) cdiHook(h *cdispec.Hook, onImage bool) error {
	args := nvidiaHookArgs(h)
	refuse := fmt.Errorf("%s hook %s is refused: a CDI hook runs a host program as root in podman's model, and the sandbox never runs host programs for a device (argv: %s)",
		h.HookName, h.Path, strings.Join(h.Args, " "))
	if len(args) == 0 {
		return refuse
	}
	switch args[0] {
	case "update-ldcache":
		folders := flagValues(args[1:], "folder")
		if prev := g.Env["LD_LIBRARY_PATH"]; prev != "" {
			folders = append(folders, prev)
		}
		if len(folders) > 0 {
			g.setenv("LD_LIBRARY_PATH", strings.Join(folders, ":"))
		}
	case "create-symlinks":
		for _, l := range flagValues(args[1:], "link") {
			target, link, ok := strings.Cut(l, "::")
			if !ok || !path.IsAbs(link) || mounts.Under(path.Clean(link), "/proc", "/sys", "/dev") {
				return fmt.Errorf("%s hook create-symlinks: link %q is not TARGET::/ABSOLUTE/LINK", h.HookName, l)
			}
			if onImage {
				g.Mounts = append(g.Mounts, mounts.Op{Kind: mounts.Symlink, Source: target, Target: path.Clean(link)})
			}
		}
	case "enable-cuda-compat", "disable-device-node-modification":
	default:
		return refuse
	}
	return nil
}

// nvidiaHookArgs is the subcommand and arguments of an NVIDIA CDI hook,
// or nil for any other program.
func nvidiaHookArgs(h *cdispec.Hook) []string {
	switch path.Base(h.Path) {
	case "nvidia-cdi-hook":
		if len(h.Args) > 1 {
			return h.Args[1:]
		}
	case "nvidia-ctk":
		if len(h.Args) > 2 && h.Args[1] == "hook" {
			return h.Args[2:]
		}
	}
	return nil
}

// flagValues collects --name VALUE and --name=VALUE from args.
func flagValues(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--"+name && i+1 < len(args) {
			out = append(out, args[i+1])
			i++
		} else if v, ok := strings.CutPrefix(args[i], "--"+name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}
