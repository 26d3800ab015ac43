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
	// AllowLocal lets names and addresses reach this machine: its
	// loopback, link-local and own interface addresses (the profile's
	// allow_host_loopback, a grant). Without it every address, whether
	// DNS, [network.hosts] or an IP literal in Allow gave it, is checked.
	AllowLocal bool
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

// resolve returns the addresses to dial for an allowed host: a Hosts
// entry, an IP literal (which Allow lists as it is), or what DNS answers.
// Unless AllowLocal, loopback, link-local, multicast and unspecified
// addresses and the host's own are stripped: the proxy dials from the
// host's network namespace, and an untrusted profile must not reach the
// host's services through it (slirp mode blocks the same).
func (p Policy) resolve(ctx context.Context, host string) ([]string, error) {
	var addrs []net.IP
	if ip, ok := p.Hosts[strings.ToLower(host)]; ok {
		addrs = []net.IP{net.ParseIP(ip)}
	} else if ip := net.ParseIP(host); ip != nil {
		addrs = []net.IP{ip}
	} else {
		as, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			addrs = append(addrs, a.IP)
		}
	}
	own := map[string]bool{}
	if !p.AllowLocal {
		// Read per connection: the host's addresses change (DHCP, VPNs).
		ifs, _ := net.InterfaceAddrs()
		for _, a := range ifs {
			if n, ok := a.(*net.IPNet); ok {
				own[n.IP.String()] = true
			}
		}
	}
	var out []string
	var local []net.IP
	for _, ip := range addrs {
		if ip == nil {
			continue
		}
		if !p.AllowLocal && (ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || own[ip.String()]) {
			local = append(local, ip)
			continue
		}
		out = append(out, ip.String())
	}
	if len(out) == 0 {
		return nil, &localError{host: host, ips: local}
	}
	return out, nil
}
