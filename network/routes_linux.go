package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// hostAddresses lists the host's own global addresses. A user-mode network
// helper connects from the host, so without more, a sandbox could reach any
// service the host listens on at these addresses, whatever
// allow_host_loopback says.
func hostAddresses() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || !blockable(ipn.IP) {
			continue
		}
		out = append(out, ipn.IP.String())
	}
	return out
}

// blockable reports whether ip is a host address the sandbox must not
// reach: all but loopback (the helper's own business: allow_host_loopback)
// and IPv6 link-local ones (scoped to a link, which the helper cannot
// name). IPv4 link-local addresses (avahi-autoipd, NodeLocal DNS on
// 169.254.20.10) are blocked like any other (review 13, #12).
func blockable(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	return !ip.IsLinkLocalUnicast() || ip.To4() != nil
}

// unreachableRoutes adds an "unreachable" route for each address in the
// sandbox's network namespace. Init does it with CAP_NET_ADMIN of the outer
// user namespace, which owns the network namespace; the payload, one user
// namespace further down, cannot take the routes away.
func unreachableRoutes(addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket AF_NETLINK", err)
	}
	defer unix.Close(fd)
	for i, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil {
			continue
		}
		if err := addUnreachable(fd, uint32(i+1), ip); err != nil {
			return fmt.Errorf("blocking the host's address %s in the sandbox: %w", a, err)
		}
	}
	return nil
}

// addUnreachable sends one RTM_NEWROUTE for ip/32 (or /128) of type
// RTN_UNREACHABLE and waits for the kernel's acknowledgement.
func addUnreachable(fd int, seq uint32, ip net.IP) error {
	family, bits := byte(unix.AF_INET6), byte(128)
	if v4 := ip.To4(); v4 != nil {
		ip, family, bits = v4, unix.AF_INET, 32
	}
	attrLen := unix.SizeofRtAttr + len(ip)
	total := unix.SizeofNlMsghdr + unix.SizeofRtMsg + (attrLen+3)&^3
	b := make([]byte, total)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(total))
	ne.PutUint16(b[4:], unix.RTM_NEWROUTE)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	ne.PutUint32(b[8:], seq)
	rt := b[unix.SizeofNlMsghdr:]
	rt[0], rt[1] = family, bits                                                                                       // family, dst_len
	rt[4], rt[5], rt[6], rt[7] = unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNREACHABLE // table, protocol, scope, type
	attr := rt[unix.SizeofRtMsg:]
	ne.PutUint16(attr[0:], uint16(attrLen))
	ne.PutUint16(attr[2:], unix.RTA_DST)
	copy(attr[unix.SizeofRtAttr:], ip)
	if err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("sendto netlink", err)
	}
	reply := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, reply, 0)
	if err != nil {
		return os.NewSyscallError("recvfrom netlink", err)
	}
	if n >= unix.SizeofNlMsghdr+4 && ne.Uint16(reply[4:]) == unix.NLMSG_ERROR {
		if code := int32(ne.Uint32(reply[unix.SizeofNlMsghdr:])); code != 0 {
			return unix.Errno(-code)
		}
	}
	return nil
}
