package control

import (
	"encoding/json"
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
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 && oobn == 0 {
			return nil, nil
		}
		if err := json.Unmarshal(buf[:n], v); err != nil {
			return nil, fmt.Errorf("decoding a message: %w", err)
		}
		var files []*os.File
		if oobn > 0 {
			cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err == nil && len(cmsgs) > 0 {
				fds, _ := unix.ParseUnixRights(&cmsgs[0])
				for _, fd := range fds {
					files = append(files, os.NewFile(uintptr(fd), f.Name()))
				}
			}
		}
		return files, nil
	}
}
