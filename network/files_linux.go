package network

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"sandbox/internal/reexec"
	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/slirp"
)

// writeFiles writes the sandbox's resolv.conf and hosts into dir and
// returns the mounts that put them in place, and the variables the mode
// adds to the environment: Driver.Files of the modes with a network
// namespace of their own.
func writeFiles(n profiles.Network, hostname, dir string) (mounts.Plan, map[string]string, error) {
	if dir == "" {
		return nil, nil, errNoDir
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n"
	names := make([]string, 0, len(n.Hosts))
	for name := range n.Hosts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		hosts += n.Hosts[name] + "\t" + name + "\n"
	}
	files := map[string]string{"/etc/hosts": hosts}
	env := map[string]string{}
	switch n.Mode {
	case None:
		// The recording resolver (lookups.go): no search domains, so a
		// name is asked for once, as it was written. A host with no
		// resolv.conf at all (the cgroup v2 test VM) has no name service
		// to stand in for, and no file to mount it over in its read-only
		// /etc: lookups fail there as they do on the host.
		if _, err := os.Lstat("/etc/resolv.conf"); err != nil {
			break
		}
		files[resolvConfTarget()] = "# sandbox: network mode none: lookups fail at once (NXDOMAIN) and are\n# listed when the run ends.\nnameserver 127.0.0.1\noptions attempts:1\n"
	case Slirp:
		files[resolvConfTarget()] = resolvConf(n.DNS)
	case Proxy:
		files[resolvConfTarget()] = "# sandbox: network mode proxy: no DNS and no route out; HTTP_PROXY,\n# HTTPS_PROXY and ALL_PROXY lead to the allowlisting proxy.\n"
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
			env[k] = "http://" + ProxyHTTPAddr
		}
		env["ALL_PROXY"], env["all_proxy"] = "socks5h://"+ProxySOCKSAddr, "socks5h://"+ProxySOCKSAddr
		env["NO_PROXY"], env["no_proxy"] = "localhost,127.0.0.1,::1", "localhost,127.0.0.1,::1"
	}
	var plan mounts.Plan
	for target, content := range files {
		src := filepath.Join(dir, filepath.Base(target))
		if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
			return nil, nil, fmt.Errorf("writing %s for the sandbox: %w", filepath.Base(target), err)
		}
		plan = append(plan, mounts.Op{Kind: mounts.Bind, Source: src, Target: target, ReadOnly: true})
	}
	return plan, env, nil
}

// resolvConfTarget is where resolv.conf really lives: /etc/resolv.conf, or
// what it links to (systemd-resolved's stub under /run, which is the
// sandbox's own empty tmpfs).
func resolvConfTarget() string {
	const etc = "/etc/resolv.conf"
	dest, err := os.Readlink(etc)
	if err != nil {
		return etc
	}
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(etc), dest)
	}
	return filepath.Clean(dest)
}

// resolvConf names the helper's DNS forwarder (or the profile's servers)
// and keeps the host's search domains and options.
func resolvConf(servers []string) string {
	if len(servers) == 0 {
		servers = []string{slirp.DNS}
	}
	var b strings.Builder
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	host, _ := os.ReadFile("/etc/resolv.conf")
	for _, line := range strings.Split(string(host), "\n") {
		if strings.HasPrefix(line, "search ") || strings.HasPrefix(line, "options ") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// slirpConfig is the helper's configuration for [network]; noRoute: the
// helper only publishes ports (mode proxy).
func slirpConfig(n profiles.Network, stateDir string, noRoute bool) *slirp.Config {
	var ports []slirp.PortSpec
	for _, p := range n.Ports {
		ports = append(ports, slirp.PortSpec{HostIP: p.HostIP, HostPort: p.HostPort, Port: p.Port, Proto: p.Proto})
	}
	return &slirp.Config{Backend: string(n.Backend), Ports: ports, AllowHostLoopback: n.AllowHostLoopback, StateDir: stateDir,
		NoRoute: noRoute, Watchdog: func() *exec.Cmd { return reexec.Command("watchdog") }}
}

// The helper's watchdog (slirp.Watchdog) runs as a fresh copy of this
// binary.
func init() {
	reexec.Register("watchdog", "sandbox-watch", func(args []string) {
		if len(args) == 1 {
			slirp.Watchdog(args[0])
		}
	})
}
