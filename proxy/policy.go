// Package proxy is the egress proxy of network mode "proxy": an HTTP
// (CONNECT and absolute-URI) and SOCKS5 proxy that lets through only the
// hostnames on an allowlist, checks the TLS SNI of tunnelled HTTPS against
// the name asked for, and counts what it denies.
package proxy

import (
	"net"
	"strings"
)

// Policy says which hostnames may be reached, and how names resolve.
type Policy struct {
	// Allow holds hostnames ("proxy.golang.org") and suffix patterns
	// ("*.npmjs.org", which matches registry.npmjs.org but not npmjs.org).
	// An IP address is allowed only when listed as it is.
	Allow []string
	// Hosts resolves names before DNS does (the profile's [network.hosts]).
	Hosts map[string]string
}

// Allowed reports whether host (a name or an IP address) may be reached.
func (p Policy) Allowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for _, a := range p.Allow {
		a = strings.ToLower(a)
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			if net.ParseIP(host) == nil && strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == a {
			return true
		}
	}
	return false
}

// resolve returns the address to dial for host:port.
func (p Policy) resolve(host, port string) string {
	if ip, ok := p.Hosts[strings.ToLower(host)]; ok {
		host = ip
	}
	return net.JoinHostPort(host, port)
}
