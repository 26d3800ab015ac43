package confine

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// The payload's bounding capability set must be empty (bubblewrap empties
// it; OCI runtime-tools flags a full one). Init cannot do it for the
// payload: the kernel gives every new user namespace a full bounding set
// (set_cred_user_ns), and the payload's nested namespace is made by the
// clone that starts it. So the payload stage (payload_linux.go) empties
// it inside that namespace before it execs the command; init starts the
// stage with CAP_SETPCAP ambient, so that a payload user other than 0 may.

// dropCapabilities empties the bounding set. uid 0 keeps its capabilities
// in the nested namespace (root's exec gains the inheritable set, which is
// set before the bounding set is emptied); any other user ends with none.
func dropCapabilities(root bool) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capget", err)
	}
	if root {
		data[0].Inheritable, data[1].Inheritable = data[0].Permitted, data[1].Permitted
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return os.NewSyscallError("capset", err)
		}
	}
	for c := 0; ; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) && c > 0 {
				break // past the kernel's last capability
			}
			return os.NewSyscallError("prctl PR_CAPBSET_DROP", err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_CAP_AMBIENT_CLEAR_ALL", err)
	}
	if root {
		return nil
	}
	data = [2]unix.CapUserData{}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capset", err)
	}
	return nil
}
