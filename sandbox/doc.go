// Package sandbox composes the other packages into a running sandbox.
//
// The parent (Run) and the child (Init) are the same binary. The sequence:
//
//	parent                                   child: sandbox init
//	------                                   -------------------
//	clone NEWUSER|NEWNS|NEWPID|NEWUTS|
//	  NEWIPC|NEWNET|NEWCGROUP, exec init --> stage 1: no capabilities yet
//	newuidmap/newgidmap PID (outer map)      (blocks reading the socket)
//	send "mapped" -------------------------> re-exec itself: uid 0 is now
//	                                         mapped, so it gains the full
//	                                         capability set of the namespace
//	send "spec" --------------------------> stage 2: read the Spec
//	                                         hostname, mounts.Build, lo up,
//	                                         no_new_privs, PTY (master
//	                          <------------- "console" + fd, SCM_RIGHTS)
//	                                         clone NEWUSER|NEWNS (nested
//	                                         map), setsid, exec the payload
//	                                         stage: keyring, Landlock,
//	                                         seccomp, exec payload
//	                          <------------- "started" | "exec-error" | "error"
//	forward signals, copy the PTY            stay pid 1: forward signals,
//	                                         reap orphans
//	                          <------------- "exited" (wait status)
//
// Two user namespaces: the outer one maps 0 to the invoking user and 1..N
// to the subordinate ranges; init, root there, builds the root filesystem.
// A run that needs only the user's own ids maps just those, written by the
// runtime before init's exec, so init starts at stage 2 (idmap_linux.go).
// The payload runs one namespace further down, in a nested user and mount
// namespace: its ids are laid out as requested (keep-id for user = "self",
// identity for "root"), and because its mount namespace belongs to a less
// privileged user namespace, every mount init made is locked: even uid 0
// inside cannot unmount a mask or make a read-only mount writable.
//
// Errors before exec travel back over the socket; the socket is
// close-on-exec, so the parent reading EOF without "exited" means init
// died.
package sandbox
