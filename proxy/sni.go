package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The ClientHello is read whole before anything is relayed, within these
// bounds; what does not fit or does not come in time is refused, not
// forwarded unchecked (review 13, #5: a 1-byte first write, or a hello
// split across records, used to pass the SNI check).
const (
	maxHello     = 16 << 10
	helloTimeout = 10 * time.Second
)

// readFirst reads what the client sends first. When it starts with a TLS
// handshake record, every record up to the end of the ClientHello is read
// (the hello may be split across records and reads) and its SNI returned;
// errNotTLS when it does not parse. Anything else is returned as one read
// gave it (SMTP, SSH and plain protocols are the policy's, not the SNI's).
func readFirst(c net.Conn) (raw []byte, sni string, err error) {
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil || n == 0 || buf[0] != 22 {
		return buf[:n], "", ignoreEOF(err)
	}
	// The deadline starts with the hello: a protocol whose client is
	// silent while the server talks (server push) waits as long as it likes.
	c.SetReadDeadline(time.Now().Add(helloTimeout))
	defer c.SetReadDeadline(time.Time{})
	raw = buf[:n]
	var hello []byte
	for off := 0; ; {
		// One record: 5-byte header, then its fragment of the handshake.
		if raw, err = readAtLeast(c, raw, off+5); err != nil {
			return raw, "", fmt.Errorf("%w: %v", errNotTLS, err)
		}
		size := int(binary.BigEndian.Uint16(raw[off+3:]))
		if raw[off] != 22 || size == 0 || len(hello)+size > maxHello {
			return raw, "", errNotTLS
		}
		if raw, err = readAtLeast(c, raw, off+5+size); err != nil {
			return raw, "", fmt.Errorf("%w: %v", errNotTLS, err)
		}
		hello = append(hello, raw[off+5:off+5+size]...)
		off += 5 + size
		if len(hello) < 4 {
			continue
		}
		want := 4 + (int(hello[1])<<16 | int(hello[2])<<8 | int(hello[3]))
		if hello[0] != 1 || want > maxHello {
			return raw, "", errNotTLS
		}
		if len(hello) >= want {
			// clientHelloSNI parses one record: give it the hello whole.
			sni, err := clientHelloSNI(append([]byte{22, 3, 1, 0, 0}, hello[:want]...))
			return raw, sni, err
		}
	}
}

// readAtLeast reads from c onto b until it holds n bytes.
func readAtLeast(c net.Conn, b []byte, n int) ([]byte, error) {
	for len(b) < n {
		if len(b) > 2*maxHello {
			return b, errors.New("too long")
		}
		tmp := make([]byte, max(n-len(b), 512))
		m, err := c.Read(tmp)
		b = append(b, tmp[:m]...)
		if err != nil && len(b) < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return b, err
		}
	}
	return b, nil
}

var errNotTLS = errors.New("not a TLS ClientHello")

// clientHelloSNI returns the server_name of a TLS ClientHello record, ""
// when it has none, or errNotTLS. b holds the whole first record.
func clientHelloSNI(b []byte) (string, error) {
	// Record: type 22 (handshake), version, length; then the handshake:
	// type 1 (ClientHello), 3-byte length, version, 32 random bytes.
	if len(b) < 5+4+2+32+1 || b[0] != 22 || b[5] != 1 {
		return "", errNotTLS
	}
	p := b[5+4+2+32:]
	skip := func(n int) bool {
		if len(p) < n {
			return false
		}
		p = p[n:]
		return true
	}
	vec := func(lenBytes int) bool { // skip a length-prefixed vector
		if len(p) < lenBytes {
			return false
		}
		n := 0
		for i := 0; i < lenBytes; i++ {
			n = n<<8 | int(p[i])
		}
		return skip(lenBytes + n)
	}
	if !vec(1) || !vec(2) || !vec(1) { // session id, cipher suites, compression
		return "", errNotTLS
	}
	if len(p) < 2 {
		return "", nil // no extensions
	}
	exts := p[2:min(len(p), 2+int(binary.BigEndian.Uint16(p)))]
	for len(exts) >= 4 {
		typ, n := binary.BigEndian.Uint16(exts), int(binary.BigEndian.Uint16(exts[2:]))
		if len(exts) < 4+n {
			break
		}
		body := exts[4 : 4+n]
		exts = exts[4+n:]
		if typ != 0 || len(body) < 5 { // server_name
			continue
		}
		// server_name_list: length, then entries of type 0 (host_name).
		list := body[2:]
		for len(list) >= 3 {
			nameLen := int(binary.BigEndian.Uint16(list[1:]))
			if len(list) < 3+nameLen {
				break
			}
			if list[0] == 0 {
				return string(list[3 : 3+nameLen]), nil
			}
			list = list[3+nameLen:]
		}
	}
	return "", nil
}
