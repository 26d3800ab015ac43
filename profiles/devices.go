package profiles

import (
	"path"
	"strings"
)

// Forward is the [forward] table: host sockets passed into the sandbox,
// each off by default, each a grant (a door to something outside it).
type Forward struct {
	// SSHAgent binds $SSH_AUTH_SOCK at /run/sandbox/ssh-agent.sock and
	// sets SSH_AUTH_SOCK: the sandbox can use (not read) your keys.
	SSHAgent bool `toml:"ssh_agent" json:"ssh_agent,omitempty"`
	// GPGAgent binds the gpg-agent's socket where gpg inside looks for it.
	GPGAgent bool `toml:"gpg_agent" json:"gpg_agent,omitempty"`
	// X11 binds $DISPLAY's socket from /tmp/.X11-unix with a cookie for
	// that display only, and sets DISPLAY and XAUTHORITY.
	X11 bool `toml:"x11" json:"x11,omitempty"`
	// Wayland binds $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY and sets WAYLAND_DISPLAY.
	Wayland bool `toml:"wayland" json:"wayland,omitempty"`
	// PulseAudio binds the PulseAudio server's socket and sets PULSE_SERVER.
	PulseAudio bool `toml:"pulseaudio" json:"pulseaudio,omitempty"`
	// PipeWire binds $XDG_RUNTIME_DIR/pipewire-0 and sets PIPEWIRE_REMOTE.
	PipeWire bool `toml:"pipewire" json:"pipewire,omitempty"`
}

// Names lists the forwards that are on, in a fixed order, as the profile
// spells their keys.
func (f Forward) Names() []string {
	var out []string
	for _, k := range []struct {
		on   bool
		name string
	}{
		{f.SSHAgent, "ssh_agent"}, {f.GPGAgent, "gpg_agent"}, {f.X11, "x11"},
		{f.Wayland, "wayland"}, {f.PulseAudio, "pulseaudio"}, {f.PipeWire, "pipewire"},
	} {
		if k.on {
			out = append(out, k.name)
		}
	}
	return out
}

// IsCDIDevice reports whether a devices entry names a CDI device
// ("vendor.com/class=name") rather than a host path.
func IsCDIDevice(d string) bool { return !strings.HasPrefix(d, "/") }

// ownDev are the parts of the sandbox's /dev that are its own (a fresh
// devpts, shm and mqueue) or links to /proc: a host node cannot go there.
var ownDev = []string{"/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/ptmx"}

// validateDevices checks the devices list: absolute paths under /dev, or
// CDI qualified names. Whether a node exists and can be opened is the
// sandbox's check at start (an error naming it, exit 125).
func (p *Profile) validateDevices(bad func(path []string, hint, format string, args ...any)) {
	at := []string{"devices"}
	for _, d := range p.Devices {
		if IsCDIDevice(d) {
			if err := check(CheckCDIName, d); err != nil {
				bad(at, `write a path such as "/dev/kvm", or a CDI name such as "vendor.example.com/gpu=0" (sandbox doctor lists those present)`, "devices: %q is neither a /dev path nor a CDI device name: %v", d, err)
			}
			continue
		}
		clean := path.Clean(d)
		if !strings.HasPrefix(clean, "/dev/") || escapes(d) {
			bad(at, `write the node's path under /dev, e.g. "/dev/kvm"`, "devices: %q is not a path under /dev", d)
			continue
		}
		for _, own := range ownDev {
			if clean == own || strings.HasPrefix(clean, own+"/") {
				bad(at, "the sandbox has its own "+own+"; remove the entry", "devices: %q is inside the sandbox's own %s", d, own)
			}
		}
	}
}

// DeviceGrants are the devices and forwarded sockets this profile opens
// to the sandbox: part of Grants, and on their own for the start line of
// a run whose flags add devices (flags need no trust, but are shown).
func (p *Profile) DeviceGrants() []Grant { return p.deviceGrants() }

func (p *Profile) deviceGrants() []Grant {
	var g []Grant
	for _, d := range p.Devices {
		if IsCDIDevice(d) {
			g = append(g, Grant{Kind: GrantDevice, What: "CDI device " + d})
		} else {
			g = append(g, Grant{Kind: GrantDevice, What: "device " + path.Clean(d)})
		}
	}
	for _, name := range p.Forward.Names() {
		g = append(g, Grant{Kind: GrantForward, What: forwardGrant[name]})
	}
	return g
}

var forwardGrant = map[string]string{
	"ssh_agent":  "ssh-agent socket (your SSH keys can be used)",
	"gpg_agent":  "gpg-agent socket (your GPG keys can be used)",
	"x11":        "X11 display (sees and types into your other windows)",
	"wayland":    "Wayland display",
	"pulseaudio": "PulseAudio socket (speakers and microphone)",
	"pipewire":   "PipeWire socket (audio, and screen capture where the host allows)",
}
