package sandbox

import (
	"net"
	"strconv"

	"sandbox/confine"
	"sandbox/network"
)

// Init's side of the payload stage (package confine): the stage's binary
// and its policy, derived from the Spec.

// stageExe is the sealed binary the payload stage (the payload's and every
// exec'd process's) starts from: set by init before its first payload
// (confine.SealExe).
var stageExe = "/proc/self/exe"

// confinement derives the stage's policy from the Spec.
func confinement(spec *Spec, path string) confine.Policy {
	o := confine.Options{Path: path, Security: spec.Security, Mounts: spec.Mounts, Root: spec.Process.UID == 0}
	if spec.Network == network.Proxy {
		o.ProxyPorts = proxyPorts()
	}
	return confine.NewPolicy(o)
}

// proxyPorts are the ports of the proxy's listeners inside.
func proxyPorts() []uint16 {
	var ports []uint16
	for _, addr := range []string{network.ProxyHTTPAddr, network.ProxySOCKSAddr} {
		_, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.ParseUint(port, 10, 16)
		ports = append(ports, uint16(n))
	}
	return ports
}
