package devices

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestDisplayNumber(t *testing.T) {
	for _, tt := range []struct{ display, num string }{
		{":0", "0"}, {":1.0", "1"}, {"unix:12", "12"}, {":99.2", "99"},
		{"", ""}, {"localhost:10.0", ""}, {"host.example.com:0", ""}, {":", ""}, {":x", ""},
	} {
		num, err := displayNumber(tt.display)
		if num != tt.num || (err == nil) != (tt.num != "") {
			t.Errorf("displayNumber(%q) = %q, %v; want %q", tt.display, num, err, tt.num)
		}
	}
}

func xauthRecord(family uint16, fields ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, family)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

func TestDisplayCookie(t *testing.T) {
	const cookie = "MIT-MAGIC-COOKIE-1"
	file := bytes.Join([][]byte{
		xauthRecord(xauthFamilyLocal, "devbox", "1", cookie, "other-display"),
		xauthRecord(0, "\x0a\x00\x00\x01", "0", cookie, "tcp-entry"),
		xauthRecord(xauthFamilyWild, "", "0", cookie, "wild"),
		xauthRecord(xauthFamilyLocal, "devbox", "0", cookie, "this-host"),
		xauthRecord(xauthFamilyLocal, "oldname", "0", cookie, "old-host"),
	}, nil)
	for _, tt := range []struct{ num, host, data string }{
		{"0", "devbox", "this-host"},
		{"0", "renamed", "wild"},
		{"1", "renamed", "other-display"},
		{"2", "devbox", ""},
	} {
		got, err := displayCookie(file, tt.num, tt.host)
		if err != nil {
			t.Fatal(err)
		}
		want := []byte(nil)
		if tt.data != "" {
			want = xauthRecord(xauthFamilyWild, "", tt.num, cookie, tt.data)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("displayCookie(:%s on %s) = %q, want %q", tt.num, tt.host, got, want)
		}
	}
	if _, err := displayCookie(file[:len(file)-3], "0", "devbox"); err == nil {
		t.Error("a truncated Xauthority file parsed without error")
	}
}
