package profiles

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The values of a profile that have a syntax of their own are typed here,
// once: each implements encoding.TextUnmarshaler, so BurntSushi/toml
// reports a bad one at its FILE:LINE:COL, `profile check` refuses what
// `run` would, and nothing past Load parses a profile string again.

// Size is a byte count written as "2GiB", "512M" or "0" (see ParseSize).
// The zero Size is "not set".
type Size struct {
	bytes int64
	text  string
}

// UnmarshalText parses a size.
func (s *Size) UnmarshalText(b []byte) error {
	n, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size{bytes: n, text: string(b)}
	return nil
}

// MarshalText writes the size as it was given.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.text), nil }

// IsSet reports whether a size was given.
func (s Size) IsSet() bool { return s.text != "" }

// Bytes is the size in bytes.
func (s Size) Bytes() int64 { return s.bytes }

func (s Size) String() string { return s.text }

// Duration is a positive time span written as "30m" or "90s". The zero
// Duration is "not set".
type Duration time.Duration

// UnmarshalText parses a positive duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v <= 0 {
		return fmt.Errorf("%q is not a positive duration such as \"30m\" or \"90s\"", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go prints it ("30m0s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// DefaultHostIP is where a forwarded port listens when the spec names no
// address: loopback, so a sandbox's server is not exposed to the network
// unless asked for ("0.0.0.0:8080:80").
const DefaultHostIP = "127.0.0.1"

// Port forwards HostIP:HostPort on the host to Port inside the sandbox,
// written "[ip:]hostport:port[/proto]": "127.0.0.1:8080:80/tcp",
// "5353:53/udp", "[::1]:8080:80".
type Port struct {
	HostIP   string
	HostPort int
	Port     int
	Proto    string // "tcp" or "udp"
}

// UnmarshalText parses a port forward.
func (p *Port) UnmarshalText(b []byte) error {
	v, err := ParsePort(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalText writes the forward in full.
func (p Port) MarshalText() ([]byte, error) {
	return []byte(net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort)) + ":" + strconv.Itoa(p.Port) + "/" + p.Proto), nil
}

// ParsePort parses "[ip:]hostport:port[/proto]".
func ParsePort(s string) (Port, error) {
	bad := func(why string) (Port, error) {
		return Port{}, fmt.Errorf("port %q: %s (want [ip:]hostport:port[/tcp|/udp])", s, why)
	}
	spec := Port{HostIP: DefaultHostIP, Proto: "tcp"}
	rest := s
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		spec.Proto = strings.ToLower(rest[i+1:])
		rest = rest[:i]
		if spec.Proto != "tcp" && spec.Proto != "udp" {
			return bad("protocol must be tcp or udp")
		}
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return bad("no host port")
	}
	hostPart, port := rest[:i], rest[i+1:]
	if j := strings.LastIndexByte(hostPart, ':'); j >= 0 {
		spec.HostIP = strings.Trim(hostPart[:j], "[]")
		hostPart = hostPart[j+1:]
		if net.ParseIP(spec.HostIP) == nil {
			return bad("host address is not an IP address")
		}
	}
	var err error
	if spec.HostPort, err = parsePortNumber(hostPart); err != nil {
		return bad("host port " + err.Error())
	}
	if spec.Port, err = parsePortNumber(port); err != nil {
		return bad("sandbox port " + err.Error())
	}
	return spec, nil
}

func parsePortNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a number from 1 to 65535", s)
	}
	return n, nil
}

// UserMode is who the payload runs as: "self" (your uid, gid, name and
// home path) or "root" (uid 0 inside).
type UserMode string

// Valid reports whether u is a known user mode.
func (u UserMode) Valid() bool { return u == "self" || u == "root" }

// NetworkMode is [network] mode: "none", "slirp", "host" or "proxy".
type NetworkMode string

// Valid reports whether m is a known network mode.
func (m NetworkMode) Valid() bool { return m == "none" || m == "slirp" || m == "host" || m == "proxy" }

// Backend forces the slirp helper: "pasta" or "slirp4netns" ("" picks).
type Backend string

// Valid reports whether b is empty or a known backend.
func (b Backend) Valid() bool { return b == "" || b == "pasta" || b == "slirp4netns" }

// MountMode is a mount's "ro" or "rw" ("" is rw).
type MountMode string

// Valid reports whether m is empty or a known mount mode.
func (m MountMode) Valid() bool { return m == "" || m == "ro" || m == "rw" }

// MountType is a mount's "bind" or "tmpfs" ("" is bind).
type MountType string

// Valid reports whether t is empty or a known mount type.
func (t MountType) Valid() bool { return t == "" || t == "bind" || t == "tmpfs" }

// ProjectMode is how the project directory is mounted: "bind" or
// "overlay" ("" is bind).
type ProjectMode string

// Valid reports whether m is empty or a known project mode.
func (m ProjectMode) Valid() bool { return m == "" || m == "bind" || m == "overlay" }
