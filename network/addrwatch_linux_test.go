package network

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAddrWatchErrorAnswer: an NLMSG_ERROR answering the first dump ends
// the first drain with an error instead of waiting for an NLMSG_DONE that
// never comes, which hung init (review 13, #12).
func TestAddrWatchErrorAnswer(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	msg := make([]byte, unix.NLMSG_HDRLEN+4+unix.NLMSG_HDRLEN)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_ERROR)
	ne.PutUint32(msg[8:], 1)
	errno := -int32(unix.EBUSY)
	ne.PutUint32(msg[unix.NLMSG_HDRLEN:], uint32(errno))
	if _, err := unix.Write(fds[1], msg); err != nil {
		t.Fatal(err)
	}
	w := &addrWatcher{watch: fds[0], blocked: map[string]bool{}}
	done := make(chan error, 1)
	go func() { done <- w.drain(true) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("drain took an error answer as the end of the dump")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("drain still waits after an error answer: init would hang")
	}
}

func TestBlockable(t *testing.T) {
	for ip, want := range map[string]bool{
		"192.0.2.1": true, "169.254.20.10": true, "2001:db8::1": true,
		"127.0.0.1": false, "::1": false, "fe80::1": false, "224.0.0.1": false,
	} {
		if got := blockable(net.ParseIP(ip)); got != want {
			t.Errorf("blockable(%s) = %v, want %v", ip, got, want)
		}
	}
}
