package network

// handOver is each mode's last child step: the sockets its host side
// serves from the host's network namespace.
var handOver = map[string]func(Send) error{
	Proxy: sendProxyListeners, // the proxy's listeners
	None:  sendResolver,       // the recording resolver's socket
}

// Setup is init's side of the network, in the sandbox's network
// namespace with CAP_NET_ADMIN there: loopback up, the host's addresses
// routed nowhere (and watched), and the sockets the host side serves.
func (c Child) Setup(send Send) error {
	if c.Network != Host {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if err := unreachableRoutes(c.Unreachable); err != nil {
		return err
	}
	if c.WatchHostAddrs {
		if err := watchHostAddrs(WatchFD); err != nil {
			return err
		}
	}
	if step := handOver[c.Network]; step != nil {
		return step(send)
	}
	return nil
}
