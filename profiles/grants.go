package profiles

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// GrantKind is what a grant opens to the sandbox beyond its project.
type GrantKind string

// The kinds of grant: every door a profile opens on the host is a Grant
// computed here, and nowhere else.
const (
	GrantMount        GrantKind = "mount"         // a host path outside the project
	GrantEnv          GrantKind = "env"           // a host variable beyond the built-in list
	GrantHostNetwork  GrantKind = "host-network"  // network.mode = "host"
	GrantHostLoopback GrantKind = "host-loopback" // network.allow_host_loopback
	GrantPort         GrantKind = "port"          // a port forwarded on a non-loopback address
	GrantUnprotected  GrantKind = "unprotected"   // protect.defaults = false: .git/hooks and the rest writable
	GrantDevice       GrantKind = "device"        // a host device node or a CDI device (devices.go)
	GrantForward      GrantKind = "forward"       // a forwarded agent, display or audio socket (devices.go)
	GrantTmpfs        GrantKind = "tmpfs"         // [tmpfs] sizes above the defaults, or many tmpfs mounts: memory pinned
)

// Grant is one door a profile opens on the host. Grants are data: `profile
// show`, the start line of a run, `--json` and the trust prompt all print
// the same list.
type Grant struct {
	Kind GrantKind `json:"kind"`
	// What names it for people: "~/.ssh (rw)", "env GITHUB_TOKEN".
	What string `json:"what"`
	// Path is a mount's source as the run resolves it, absolute: what
	// What shortens with ~ (a changed $HOME must change the trust digest).
	Path string `json:"-"`
}

func (g Grant) String() string { return g.What }

// GrantHost is what grants are judged against: the project root, the
// user's home and how the host expands $VARS in mount sources.
type GrantHost struct {
	Project string
	Home    string
	Getenv  func(string) string
}

// Grants lists what p opens on the host beyond its project: mounts of
// host paths outside the project (read-write ones under the home called
// out), environment variables beyond the built-in passthrough list, the
// host network, the host's loopback, ports on non-loopback addresses, and
// the protected paths switched off. A profile without grants needs no
// trust. Call it on the profile as the file gives it, before flags: what a
// user types is their own choice.
func (p *Profile) Grants(h GrantHost) []Grant {
	var gs []Grant
	for _, m := range p.Mounts {
		if m.Type == "tmpfs" {
			continue
		}
		src := ExpandSource(m.Source, h.Home, h.Getenv)
		if !filepath.IsAbs(src) {
			src = filepath.Join(h.Project, src)
		}
		src = filepath.Clean(src)
		if within(h.Project, src) {
			continue
		}
		mode := "rw"
		if m.ReadOnly() {
			mode = "ro"
		}
		gs = append(gs, Grant{Kind: GrantMount, What: shortHome(src, h.Home) + " (" + mode + ")", Path: src})
	}
	builtin := Defaults().EnvPassthrough
	for _, e := range p.EnvPassthrough {
		if !slices.Contains(builtin, e) {
			gs = append(gs, Grant{Kind: GrantEnv, What: "env " + e})
		}
	}
	if p.Network.Mode == "host" {
		gs = append(gs, Grant{Kind: GrantHostNetwork, What: "host network"})
	}
	if p.Network.AllowHostLoopback {
		gs = append(gs, Grant{Kind: GrantHostLoopback, What: "host loopback services"})
	}
	for _, spec := range p.Network.Ports {
		if ip := net.ParseIP(spec.HostIP); ip == nil || !ip.IsLoopback() {
			text, _ := spec.MarshalText()
			gs = append(gs, Grant{Kind: GrantPort, What: "port " + string(text) + " open to the network"})
		}
	}
	if !p.Protect.Defaults {
		gs = append(gs, Grant{Kind: GrantUnprotected, What: "writable .git/hooks, .git/config and editor settings"})
	}
	gs = append(gs, p.tmpfsGrants()...)
	return append(gs, p.deviceGrants()...)
}

// ExpandSource expands a mount source as the sandbox does: a leading ~ is
// home, $VARS come from getenv ($HOME is home).
func ExpandSource(s, home string, getenv func(string) string) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = home + strings.TrimPrefix(s, "~")
	}
	return os.Expand(s, func(k string) string {
		if k == "HOME" {
			return home
		}
		if getenv == nil {
			return ""
		}
		return getenv(k)
	})
}

// within reports whether p is dir or below it (lexically: symlinks below
// the project are refused when the source is opened).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

func shortHome(p, home string) string {
	if home != "" && within(home, p) {
		return "~" + strings.TrimPrefix(p, filepath.Clean(home))
	}
	return p
}
