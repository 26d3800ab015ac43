// Package slirp gives a sandbox's network namespace a user-mode network
// through pasta or slirp4netns: a tap device with its own address, a
// default route and DNS, and host-to-sandbox port forwarding. The helper
// runs as the user, outside the sandbox, and ends with it.
//
// rootlesskit has drivers for both helpers, but they are built around
// rootlesskit's own parent/child handshake and state directory; we run the
// helpers with the same arguments rootlesskit would, from our parent.
package slirp

import "os/exec"

// The sandbox's addresses, the same for both backends (slirp4netns's
// defaults): the gateway leads out, and to the host's loopback only when
// AllowHostLoopback is set.
const (
	CIDR    = "10.0.2.0/24"
	Address = "10.0.2.100"
	Gateway = "10.0.2.2"
	DNS     = "10.0.2.3"
	MTU     = 65520
)

// Backends in order of preference.
const (
	Pasta       = "pasta"
	Slirp4netns = "slirp4netns"
)

// Config is what a Network is started with.
type Config struct {
	Backend           string // Pasta, Slirp4netns, or "" for the first one installed
	Ports             []PortSpec
	AllowHostLoopback bool
	// NoRoute starts the helper only to forward Ports: the sandbox gets no
	// address and no route (the proxy mode). Pasta only.
	NoRoute bool
	// StateDir holds the helper's pid file and API socket.
	StateDir string
	// Watchdog returns a command that runs Watchdog (the sandbox binary
	// re-executed in its watchdog stage); pasta needs one.
	Watchdog func() *exec.Cmd
}

// Network is a running helper. Close stops it and is safe to call more
// than once; the helper also ends by itself when the sandbox does.
type Network interface {
	Backend() string
	Close() error
}
