package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/proxy"
	"sandbox/slirp"
)

// base is what the modes share: nothing inherited, nothing to start, no
// sockets from init.
type base struct{}

func (base) CloneFlags() uintptr              { return syscall.CLONE_NEWNET }
func (base) Inherit() ([]*os.File, error)     { return nil, nil }
func (base) Start(int, func() []Holder) error { return nil }
func (base) Stop() Report                     { return Report{} }
func (base) Ports() []string                  { return nil }
func (base) Take(files []*os.File) error      { return unasked("sockets", files) }
func unasked(what string, files []*os.File) error {
	closeAll(files)
	return fmt.Errorf("init sent %s that were not asked for", what)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// hostNet is mode host: the host's network namespace, its name service.
type hostNet struct{ base }

func (*hostNet) Mode() profiles.NetworkMode { return Host }
func (*hostNet) CloneFlags() uintptr        { return 0 }
func (*hostNet) Child() Child               { return Child{Network: Host} }

// Files binds the host's resolv.conf and hosts, where it has them, into
// an image's root; the host's root has them already.
func (*hostNet) Files(_, _ string, image bool) (mounts.Plan, map[string]string, error) {
	if !image {
		return nil, nil, nil
	}
	var ops mounts.Plan
	for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
		if _, err := os.Stat(f); err == nil {
			ops = append(ops, mounts.Op{Kind: mounts.Bind, Source: f, Target: f, ReadOnly: true})
		}
	}
	return ops, nil, nil
}

// noneNet is mode none: loopback only, and the recording resolver
// (lookups.go) on it, served from the host side.
type noneNet struct {
	base
	n        profiles.Network
	lookups  lookupRecorder
	resolver net.PacketConn
}

func (*noneNet) Mode() profiles.NetworkMode { return None }
func (*noneNet) Child() Child               { return Child{Network: None} }

func (d *noneNet) Files(hostname, dir string, _ bool) (mounts.Plan, map[string]string, error) {
	return writeFiles(d.n, hostname, dir)
}

func (d *noneNet) Take(files []*os.File) error {
	if d.resolver != nil || len(files) != 1 {
		return unasked("a resolver socket", files)
	}
	conn, err := net.FilePacketConn(files[0])
	files[0].Close()
	if err != nil {
		return fmt.Errorf("taking over the resolver's socket: %w", err)
	}
	d.resolver = conn
	go d.lookups.serve(conn)
	return nil
}

func (d *noneNet) Stop() Report {
	if d.resolver != nil {
		d.resolver.Close()
	}
	return Report{Lookups: d.lookups.Names()}
}

// slirpNet is mode slirp: a user-mode helper gives the sandbox an
// address, a route and DNS; the host's own addresses are routed nowhere
// inside unless allow_host_loopback.
type slirpNet struct {
	base
	n       profiles.Network
	cfg     *slirp.Config
	network slirp.Network
}

func (*slirpNet) Mode() profiles.NetworkMode { return Slirp }
func (d *slirpNet) Ports() []string          { return ports(d.cfg) }

func (d *slirpNet) Child() Child {
	if d.n.AllowHostLoopback {
		return Child{Network: Slirp}
	}
	return Child{Network: Slirp, Unreachable: hostAddresses(), WatchHostAddrs: true}
}

func (d *slirpNet) Files(hostname, dir string, _ bool) (mounts.Plan, map[string]string, error) {
	return writeFiles(d.n, hostname, dir)
}

// Inherit opens the host's address-watch socket (addrwatch_linux.go).
func (d *slirpNet) Inherit() ([]*os.File, error) {
	if d.n.AllowHostLoopback {
		return nil, nil
	}
	watch, err := openAddrWatch()
	if err != nil {
		return nil, err
	}
	return []*os.File{watch}, nil
}

func (d *slirpNet) Start(pid int, live func() []Holder) error {
	var err error
	if d.network, err = startSlirp(d.cfg, pid, live); err != nil {
		return err
	}
	return nil
}

func (d *slirpNet) Stop() Report {
	if d.network == nil {
		return Report{}
	}
	d.network.Close()
	return Report{Backend: d.network.Backend()}
}

// proxyNet is mode proxy: no route out; the allowlisting proxy listens
// on the sandbox's loopback and is served from the host side. Published
// ports still need a helper, one without a route (NoRoute).
type proxyNet struct {
	base
	n       profiles.Network
	cfg     *slirp.Config // nil: no ports to publish
	network slirp.Network
	srv     *proxy.Server
}

func newProxyNet(n profiles.Network, stateDir string) *proxyNet {
	d := &proxyNet{n: n}
	if len(n.Ports) > 0 {
		d.cfg = slirpConfig(n, stateDir, true)
	}
	return d
}

func (*proxyNet) Mode() profiles.NetworkMode { return Proxy }
func (d *proxyNet) Ports() []string          { return ports(d.cfg) }
func (*proxyNet) Child() Child               { return Child{Network: Proxy} }

func (d *proxyNet) Files(hostname, dir string, _ bool) (mounts.Plan, map[string]string, error) {
	return writeFiles(d.n, hostname, dir)
}

func (d *proxyNet) Start(pid int, live func() []Holder) error {
	if d.cfg != nil {
		var err error
		if d.network, err = startSlirp(d.cfg, pid, live); err != nil {
			return err
		}
	}
	d.srv = proxy.New(proxy.Policy{Allow: d.n.Allow, Hosts: d.n.Hosts, AllowLocal: d.n.AllowHostLoopback})
	return nil
}

// Take serves the HTTP and SOCKS5 listeners init made in the sandbox.
func (d *proxyNet) Take(files []*os.File) error {
	if d.srv == nil || len(files) != 2 {
		return unasked("proxy listeners", files)
	}
	var ls []net.Listener
	for _, f := range files {
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("taking over the proxy's listener: %w", err)
		}
		ls = append(ls, l)
	}
	go d.srv.ServeHTTP(ls[0])
	go d.srv.ServeSOCKS(ls[1])
	return nil
}

func (d *proxyNet) Stop() Report {
	var r Report
	if d.srv != nil {
		d.srv.Close()
		r.Denied = d.srv.Denied()
	}
	if d.network != nil {
		d.network.Close()
		r.Backend = d.network.Backend()
	}
	return r
}

// ports lists what cfg publishes; nil cfg publishes nothing.
func ports(cfg *slirp.Config) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, p := range cfg.Ports {
		out = append(out, p.String())
	}
	return out
}

// startSlirp starts the helper, naming the run that holds a port it
// cannot forward.
func startSlirp(cfg *slirp.Config, pid int, live func() []Holder) (slirp.Network, error) {
	network, err := slirp.Start(*cfg, pid)
	if err != nil {
		return nil, fmt.Errorf("starting the network: %w", nameHolder(err, live))
	}
	return network, nil
}

var errNoDir = errors.New("no directory for the sandbox's generated files (Options.Files)")
