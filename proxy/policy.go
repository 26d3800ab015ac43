// Package proxy is the egress proxy of network mode "proxy": an HTTP
// (CONNECT and absolute-URI) and SOCKS5 proxy that lets through only the
// hostnames on an allowlist, checks the TLS SNI of tunnelled HTTPS against
// the name asked for, and counts what it denies.
package proxy

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// Policy says which hostnames may be reached, and how names resolve.
type Policy struct {
	// Allow holds hostnames ("packages.example.com") and suffix patterns
	// ("*.example.org", which matches registry.example.org but not
	// example.org).
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

// localError is an allowed name that DNS resolves only to addresses of
// this machine or its links: following it would let the sandbox reach the
// host's loopback services through the proxy (DNS rebinding).
type localError struct {
	host string
	ips  []net.IP
}

func (e *localError) Error() string {
	return fmt.Sprintf("%s resolves only to local addresses (%v)", e.host, e.ips)
}

// resolve returns the addresses to dial for an allowed host. Names in
// Hosts and IP literals (which Allow lists as they are) are taken as
// given; anything DNS answers is stripped of loopback, link-local,
// multicast and unspecified addresses.
func (p Policy) resolve(ctx context.Context, host string) ([]string, error) {
	if ip, ok := p.Hosts[strings.ToLower(host)]; ok {
		return []string{ip}, nil
	}
	if net.ParseIP(host) != nil {
		return []string{host}, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	var out []string
	var local []net.IP
	for _, a := range addrs {
		if a.IP.IsLoopback() || a.IP.IsLinkLocalUnicast() || a.IP.IsLinkLocalMulticast() || a.IP.IsMulticast() || a.IP.IsUnspecified() {
			local = append(local, a.IP)
			continue
		}
		out = append(out, a.IP.String())
	}
	if len(out) == 0 {
		return nil, &localError{host: host, ips: local}
	}
	return out, nil
}
