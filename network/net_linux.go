package network

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// loopbackUp brings up lo in the sandbox's network namespace: network mode
// "none" means loopback only, and a sandbox without lo breaks test suites
// that listen on 127.0.0.1.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return os.NewSyscallError("ioctl SIOCGIFFLAGS lo", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return os.NewSyscallError("ioctl SIOCSIFFLAGS lo", err)
	}
	return nil
}

// sendResolver opens the recording resolver's socket on the sandbox's
// loopback (port 53, which init may bind: it holds CAP_NET_BIND_SERVICE
// over the network namespace its user namespace owns) and hands it to the
// parent, which answers and records the lookups.
func sendResolver(send Send) error {
	c, err := net.ListenPacket("udp", ResolverAddr)
	if err != nil {
		return fmt.Errorf("opening the resolver's socket on %s in the sandbox: %w", ResolverAddr, err)
	}
	f, err := c.(*net.UDPConn).File()
	c.Close()
	if err != nil {
		return err
	}
	defer f.Close()
	return send(int(f.Fd()))
}

// sendProxyListeners opens the proxy's listening sockets on the sandbox's
// loopback and hands them to the parent, which serves them from the host's
// network namespace: a socket keeps the namespace it was made in, so the
// sandbox reaches the proxy without any route out.
func sendProxyListeners(send Send) error {
	var fds []int
	for _, addr := range []string{ProxyHTTPAddr, ProxySOCKSAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("opening the proxy's listener on %s in the sandbox: %w", addr, err)
		}
		f, err := l.(*net.TCPListener).File()
		if err != nil {
			return err
		}
		l.Close()
		defer f.Close()
		fds = append(fds, int(f.Fd()))
	}
	return send(fds...)
}
