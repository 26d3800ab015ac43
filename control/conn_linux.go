package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maxMessage bounds one datagram; the largest message, sandbox's Spec on
// its sync socket, is a few kilobytes.
const maxMessage = 1 << 20

// Send writes v as one JSON datagram on the SOCK_SEQPACKET socket f, with
// fds beside it (SCM_RIGHTS).
func Send(f *os.File, v any, fds ...int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(int(f.Fd()), b, oob, nil, 0)
}

// Recv reads the next datagram on f into v and returns the files it
// carried (close-on-exec). At the end of the stream it leaves v as it is
// and returns neither files nor an error: a caller passes a zero message
// and reads an empty type as the end.
func Recv(f *os.File, v any) ([]*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(4*4))
	// A peer that closed with a message of ours unread makes the kernel
	// report ECONNRESET once, before what the peer sent: init's last
	// report when it failed before it read the Spec. Read on, once.
	reset := false
	again := func(err error) bool {
		if err == unix.ECONNRESET && !reset {
			reset = true
			return true
		}
		return err == unix.EINTR
	}
	for {
		size, err := peekSize(int(f.Fd()))
		if again(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		buf := make([]byte, max(size, 1))
		n, oobn, _, _, err := unix.Recvmsg(int(f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if again(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 && oobn == 0 {
			return nil, nil
		}
		// The fds first, so that none leaks when the message is bad (a
		// peer of our own uid could otherwise fill a long-lived
		// supervisor's table).
		var files []*os.File
		if oobn > 0 {
			cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			for _, c := range cmsgs {
				fds, _ := unix.ParseUnixRights(&c)
				for _, fd := range fds {
					files = append(files, os.NewFile(uintptr(fd), f.Name()))
				}
			}
			if err != nil {
				CloseAll(files)
				return nil, fmt.Errorf("reading a message's control data: %w", err)
			}
		}
		if n == 0 {
			CloseAll(files)
			return nil, errors.New("a message of fds without a body")
		}
		if err := json.Unmarshal(buf[:n], v); err != nil {
			CloseAll(files)
			return nil, fmt.Errorf("decoding a message: %w", err)
		}
		return files, nil
	}
}

// peekSize waits for the next datagram on fd and returns its length,
// capped at maxMessage, without taking it: MSG_TRUNC makes recvmsg on a
// unix socket return the datagram's real length. A buffer of that size
// instead of one of maxMessage for every message: the Spec and the
// lifecycle messages are a few hundred bytes to a few kilobytes, and 1
// MiB each, zeroed, was most of the CLI's heap, and its one GC cycle, on
// every run (issue 18). The fds stay queued with the datagram: without a
// control buffer, peeking installs none.
func peekSize(fd int) (int, error) {
	n, _, _, _, err := unix.Recvmsg(fd, nil, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
	return min(n, maxMessage), err
}

// CloseAll closes files that came with a message nobody keeps.
func CloseAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
