// Package network is the sandbox's network, one driver per [network] mode
// (rootlesskit's network and port drivers are the model): what the mode
// adds to init's clone flags, the files and variables it puts in the
// sandbox, the host side it runs for the length of the run (a slirp
// helper, the proxy, the recording resolver), and the child side init
// runs in the sandbox's network namespace (Child.Setup). New selects the
// driver once, from the profile's typed mode.
package network

import (
	"os"

	"sandbox/mounts"
	"sandbox/profiles"
	"sandbox/proxy"
)

// Network modes of [network] mode, untyped so that both a profile's
// profiles.NetworkMode and the Spec's string compare with them.
const (
	None  = "none"
	Slirp = "slirp"
	Host  = "host"
	Proxy = "proxy"
)

// The proxy's fixed addresses inside the sandbox.
const (
	ProxyHTTPAddr  = "127.0.0.1:3128"
	ProxySOCKSAddr = "127.0.0.1:1080"
)

// Driver is one mode's parent side. The run calls its methods in this
// order: Files and Child while the Spec is resolved; CloneFlags and
// Inherit when init is started; Start once init runs with its ids mapped;
// Take for each set of sockets init's child side hands over; Stop at the
// end, whatever happened before.
type Driver interface {
	// Mode is the mode's name, as the profile writes it.
	Mode() profiles.NetworkMode
	// CloneFlags are the namespaces the mode adds to init's clone
	// (CLONE_NEWNET, or none on the host's network).
	CloneFlags() uintptr
	// Files writes the files the mode puts in the sandbox (hosts,
	// resolv.conf) into dir, and returns the mounts that put them in
	// place and the variables the mode adds to the environment. image:
	// the sandbox's root is an image's, not the host's.
	Files(hostname, dir string, image bool) (mounts.Plan, map[string]string, error)
	// Child is what init's child side needs of the mode; the Spec
	// carries it.
	Child() Child
	// Ports are the ports the mode publishes on the host, as
	// "HOSTIP:HOSTPORT->PORT/PROTO" (the run's record lists them).
	Ports() []string
	// Inherit opens what init inherits from the host side, at WatchFD
	// on: the host's address-watch socket in mode slirp.
	Inherit() ([]*os.File, error)
	// Start starts the host side for init's pid: the slirp helper, the
	// proxy, the recording resolver. live lists the running sandboxes, to
	// name the one holding a port that cannot be forwarded.
	Start(pid int, live func() []Holder) error
	// Take takes over the sockets init's child side sent (Child.Setup).
	Take(files []*os.File) error
	// Stop ends the host side and says what it saw.
	Stop() Report
}

// Child is what init needs of the network mode: the Spec embeds it, so its
// fields are the Spec's own in JSON.
type Child struct {
	// Network is the [network] mode: none, slirp, host or proxy.
	Network string `json:"network"`
	// Unreachable are the host's own addresses, routed nowhere inside so
	// that the slirp helper cannot be used to reach the host's services.
	Unreachable []string `json:"unreachable,omitempty"`
	// WatchHostAddrs blocks, besides Unreachable, every address the host
	// has or gains during the run (addrwatch_linux.go); the socket is at
	// WatchFD.
	WatchHostAddrs bool `json:"watch_host_addrs,omitempty"`
}

// Send hands sockets made inside the sandbox to the driver's host side
// (Driver.Take): init passes its sync socket's sender.
type Send func(fds ...int) error

// Report is what the host side of a run saw.
type Report struct {
	Backend string         // the slirp helper used, if any
	Denied  []proxy.Denial // what the proxy denied, in mode proxy
	Lookups []string       // the names looked up, in mode none
}

// New selects the driver of n.Mode. stateDir is the run's own directory
// (the slirp helper's sockets live there).
func New(n profiles.Network, stateDir string) Driver {
	switch n.Mode {
	case Host:
		return &hostNet{}
	case Slirp:
		return &slirpNet{n: n, cfg: slirpConfig(n, stateDir, false)}
	case Proxy:
		return newProxyNet(n, stateDir)
	}
	n.Mode = None
	return &noneNet{n: n}
}
