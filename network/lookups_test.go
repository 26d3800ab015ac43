package network

import (
	"bytes"
	"testing"
)

func TestNXDomain(t *testing.T) {
	// id 0xbeef, RD, one question: a.example IN A.
	q := []byte{0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	name, reply, ok := nxdomain(q)
	if !ok || name != "a.example" {
		t.Fatalf("nxdomain = %q, %v; want a.example", name, ok)
	}
	want := append([]byte{0xbe, 0xef, 0x81, 0x03, 0, 1, 0, 0, 0, 0, 0, 0}, q[12:]...)
	if !bytes.Equal(reply, want) {
		t.Errorf("reply = % x, want % x", reply, want)
	}
	for _, bad := range [][]byte{q[:20], append([]byte{0, 0, 0x81, 0}, q[4:]...), {1, 2, 3}} {
		if _, _, ok := nxdomain(bad); ok {
			t.Errorf("nxdomain(% x) accepted a truncated query or a reply", bad)
		}
	}
	var r lookupRecorder
	for _, n := range []string{"A.example.", "a.example", "b.example"} {
		r.record(n)
	}
	if got := r.Names(); len(got) != 2 || got[0] != "a.example" || got[1] != "b.example" {
		t.Errorf("Names = %v, want [a.example b.example]", got)
	}
}
