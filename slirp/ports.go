package slirp

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// PortSpec forwards HostIP:HostPort on the host to Port inside the sandbox.
type PortSpec struct {
	HostIP   string `json:"host_ip"`
	HostPort int    `json:"host_port"`
	Port     int    `json:"port"`
	Proto    string `json:"proto"` // "tcp" or "udp"
}

// DefaultHostIP is where a forwarded port listens when the spec names no
// address: loopback, so a sandbox's server is not exposed to the network
// unless asked for ("0.0.0.0:8080:80").
const DefaultHostIP = "127.0.0.1"

func (p PortSpec) String() string {
	return net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort)) + "->" + strconv.Itoa(p.Port) + "/" + p.Proto
}

// ParsePort parses "[ip:]hostport:port[/proto]", e.g. "127.0.0.1:8080:80/tcp",
// "5353:53/udp", "[::1]:8080:80".
func ParsePort(s string) (PortSpec, error) {
	bad := func(why string) (PortSpec, error) {
		return PortSpec{}, fmt.Errorf("port %q: %s (want [ip:]hostport:port[/tcp|/udp])", s, why)
	}
	spec := PortSpec{HostIP: DefaultHostIP, Proto: "tcp"}
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
