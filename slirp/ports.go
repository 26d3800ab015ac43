package slirp

import (
	"net"
	"strconv"
)

// PortSpec forwards HostIP:HostPort on the host to Port inside the sandbox
// (profiles.Port parsed it, at load).
type PortSpec struct {
	HostIP   string `json:"host_ip"`
	HostPort int    `json:"host_port"`
	Port     int    `json:"port"`
	Proto    string `json:"proto"` // "tcp" or "udp"
}

func (p PortSpec) String() string {
	return net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort)) + "->" + strconv.Itoa(p.Port) + "/" + p.Proto
}
