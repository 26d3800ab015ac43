package devices

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Families of an Xauthority entry (Xauth.h).
const (
	xauthFamilyLocal = 256    // a local display; address is the hostname
	xauthFamilyWild  = 0xffff // any address
)

// displayNumber is the display number of a local $DISPLAY (":0",
// ":0.0", "unix:1"); a display reached over TCP has no socket to pass.
func displayNumber(display string) (string, error) {
	if display == "" {
		return "", errors.New("DISPLAY is not set")
	}
	host, rest, ok := strings.Cut(display, ":")
	if !ok || (host != "" && host != "unix") {
		return "", fmt.Errorf("DISPLAY %q is not a local display", display)
	}
	num, _, _ := strings.Cut(rest, ".")
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return "", fmt.Errorf("DISPLAY %q has no display number", display)
	}
	return num, nil
}

// xauthEntry is one record of an Xauthority file.
type xauthEntry struct {
	family                      uint16
	address, number, name, data []byte
}

// parseXauthority reads the records of an Xauthority file: a family
// (uint16, big-endian), then address, number, name and data, each a
// uint16 length and its bytes.
func parseXauthority(b []byte) ([]xauthEntry, error) {
	var out []xauthEntry
	field := func() ([]byte, error) {
		if len(b) < 2 {
			return nil, errors.New("truncated Xauthority file")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, errors.New("truncated Xauthority file")
		}
		f := b[2 : 2+n]
		b = b[2+n:]
		return f, nil
	}
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("truncated Xauthority file")
		}
		e := xauthEntry{family: binary.BigEndian.Uint16(b)}
		b = b[2:]
		for _, dst := range []*[]byte{&e.address, &e.number, &e.name, &e.data} {
			f, err := field()
			if err != nil {
				return nil, err
			}
			*dst = f
		}
		out = append(out, e)
	}
	return out, nil
}

// displayCookie picks the cookie for local display num from an
// Xauthority file (the entry for this host first, else a wildcard one,
// else any local one) and returns a file holding only it, as a wildcard
// entry: the sandbox has its own hostname, under which Xlib would not
// find an entry for the host's. nil: the file has none for num.
func displayCookie(file []byte, num, host string) ([]byte, error) {
	entries, err := parseXauthority(file)
	if err != nil {
		return nil, err
	}
	var best *xauthEntry
	rank := 0
	for i, e := range entries {
		if string(e.number) != num {
			continue
		}
		r := 0
		switch {
		case e.family == xauthFamilyLocal && string(e.address) == host:
			r = 3
		case e.family == xauthFamilyWild:
			r = 2
		case e.family == xauthFamilyLocal:
			r = 1
		}
		if r > rank {
			best, rank = &entries[i], r
		}
	}
	if best == nil {
		return nil, nil
	}
	var out []byte
	out = binary.BigEndian.AppendUint16(out, xauthFamilyWild)
	for _, f := range [][]byte{nil, best.number, best.name, best.data} {
		out = binary.BigEndian.AppendUint16(out, uint16(len(f)))
		out = append(out, f...)
	}
	return out, nil
}
