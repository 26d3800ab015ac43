package proxy

import (
	"encoding/binary"
	"errors"
)

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
