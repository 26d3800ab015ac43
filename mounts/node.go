package mounts

// Device and Socket bind one host node the profile grants (a device such
// as /dev/kvm, an agent's or display's socket). Unlike Bind and Dev, the
// source is opened without following any symlink, and must still be of
// its kind when it is opened, so that nothing planted in a directory the
// sandbox (or another user) can write redirects the grant.
const (
	Device Kind = "device" // a character or block device node
	Socket Kind = "socket" // a unix socket
)

// With returns the plan with ops added, ordered parents first as Host and
// Image order theirs.
func (p Plan) With(ops ...Op) Plan {
	out := append(append(Plan(nil), p...), ops...)
	out.sort()
	return out
}
