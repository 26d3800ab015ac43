package network

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
)

// ResolverAddr is the address of the recording resolver in network mode
// none, on the sandbox's own loopback: resolv.conf names it, so a lookup
// fails at once with NXDOMAIN instead of after the resolver's timeouts, and
// the run can say afterwards which names the payload wanted.
const ResolverAddr = "127.0.0.1:53"

// maxLookups bounds what a run records; a payload looking up more names
// than this is not helped by a longer list.
const maxLookups = 64

// lookupRecorder answers every DNS query with NXDOMAIN and remembers the
// names asked for, in order, once each.
type lookupRecorder struct {
	mu    sync.Mutex
	names []string
	seen  map[string]bool
}

// serve answers queries on conn until it is closed.
func (r *lookupRecorder) serve(conn net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		name, reply, ok := nxdomain(buf[:n])
		if !ok {
			continue
		}
		r.record(name)
		_, _ = conn.WriteTo(reply, from)
	}
}

func (r *lookupRecorder) record(name string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" || r.seen[name] || len(r.names) >= maxLookups {
		return
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[name] = true
	r.names = append(r.names, name)
}

// Names returns the names looked up so far.
func (r *lookupRecorder) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// nxdomain parses a DNS query (RFC 1035 4.1) with one question and
// returns the name asked for and an NXDOMAIN reply carrying the question.
func nxdomain(q []byte) (string, []byte, bool) {
	const header = 12
	if len(q) < header || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return "", nil, false // a reply, or not exactly one question
	}
	var labels []string
	i := header
	for {
		if i >= len(q) {
			return "", nil, false
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l&0xc0 != 0 || i+l > len(q) {
			return "", nil, false // no compression in a question
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return "", nil, false
	}
	end := i + 4 // qtype, qclass
	reply := make([]byte, end)
	copy(reply, q[:end])
	reply[2] = 0x80 | q[2]&0x79 // QR, the query's opcode and RD; not AA, not TC
	reply[3] = 0x03             // RA=0, RCODE NXDOMAIN
	binary.BigEndian.PutUint16(reply[6:], 0)
	binary.BigEndian.PutUint16(reply[8:], 0)
	binary.BigEndian.PutUint16(reply[10:], 0)
	return strings.Join(labels, "."), reply, true
}
