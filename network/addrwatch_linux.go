package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// WatchFD is where the parent puts the host's address-watch socket
// (Driver.Inherit, after init's sync socket) when the spec asks for it.
const WatchFD = 4

// openAddrWatch opens, in the host's network namespace, a netlink socket
// subscribed to address changes. Init reads it for the whole run: the
// host's addresses are not a list fixed at start (a VPN, docker0 or a DHCP
// lease adds one later), and a slirp helper would reach the host's services
// at each. Subscribing needs no privilege; the socket stays in the host's
// namespace when init, in the sandbox's, reads it. It is open before init
// starts, so no change is missed between the dump and the events.
func openAddrWatch() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket AF_NETLINK", err)
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind netlink address changes", err)
	}
	// A burst of changes must not overflow the queue before init reads it
	// (an overflow is ENOBUFS, after which init dumps all addresses again).
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	return os.NewFile(uintptr(fd), "netlink-addr"), nil
}

// watchHostAddrs blocks every host address now and, in a goroutine for the
// rest of the run, each one the host gains. Must be called in the
// sandbox's network namespace with CAP_NET_ADMIN there (init). If an
// address cannot be blocked, the sandbox's processes are killed: the
// promise is that none of the host's addresses is reachable.
func watchHostAddrs(watch int) error {
	routes, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket AF_NETLINK", err)
	}
	w := &addrWatcher{watch: watch, routes: routes, blocked: map[string]bool{}}
	if err := w.dump(); err != nil {
		return err
	}
	if err := w.drain(true); err != nil {
		return err
	}
	go func() {
		err := w.drain(false)
		fmt.Fprintf(os.Stderr, "sandbox: following the host's addresses: %v; stopping the sandbox\n", err)
		_ = unix.Kill(-1, unix.SIGKILL)
	}()
	return nil
}

type addrWatcher struct {
	watch, routes int
	seq           uint32
	blocked       map[string]bool
	intr          bool // the dump being read was interrupted
}

// dump asks for every address of the host.
func (w *addrWatcher) dump() error {
	w.seq++
	req := make([]byte, unix.NLMSG_HDRLEN+4) // header, rtgenmsg (family AF_UNSPEC) padded
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(unix.NLMSG_HDRLEN+unix.SizeofRtGenmsg))
	ne.PutUint16(req[4:], unix.RTM_GETADDR)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], w.seq)
	if err := unix.Sendto(w.watch, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("sendto netlink (dump addresses)", err)
	}
	return nil
}

// drain reads address messages and blocks each new host address; with
// untilDone it returns at the end of a dump, else only on an error.
func (w *addrWatcher) drain(untilDone bool) error {
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(w.watch, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.ENOBUFS) {
			// Events were lost: look at everything again.
			if err := w.dump(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return os.NewSyscallError("recvfrom netlink", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			// A dump interrupted by a change is inconsistent: take another.
			w.intr = w.intr || m.Header.Flags&unix.NLM_F_DUMP_INTR != 0
			switch m.Header.Type {
			case unix.NLMSG_ERROR:
				// An error answer (to the dump, say) ends no dump: waiting
				// for NLMSG_DONE would hang init, and going on would miss
				// addresses. Fail closed.
				if len(m.Data) >= 4 && int32(binary.NativeEndian.Uint32(m.Data)) != 0 {
					return fmt.Errorf("netlink answered the address dump with %w", unix.Errno(-int32(binary.NativeEndian.Uint32(m.Data))))
				}
			case unix.NLMSG_DONE:
				if w.intr {
					w.intr = false
					if err := w.dump(); err != nil {
						return err
					}
				}
				if untilDone {
					return nil
				}
			case unix.RTM_NEWADDR:
				if err := w.block(&m); err != nil {
					return err
				}
			}
		}
	}
}

// block adds an unreachable route inside for the address in m, if it is
// one hostAddresses would list.
func (w *addrWatcher) block(m *syscall.NetlinkMessage) error {
	attrs, err := syscall.ParseNetlinkRouteAttr(m)
	if err != nil {
		return err
	}
	var ip net.IP
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFA_LOCAL:
			ip = net.IP(a.Value)
		case unix.IFA_ADDRESS:
			if ip == nil {
				ip = net.IP(a.Value)
			}
		}
	}
	if ip == nil || !blockable(ip) || w.blocked[ip.String()] {
		return nil
	}
	w.seq++
	if err := addUnreachable(w.routes, w.seq, ip); err != nil {
		return fmt.Errorf("blocking the host's address %s in the sandbox: %w", ip, err)
	}
	w.blocked[ip.String()] = true
	return nil
}
