// Package sandbox is the process model: one run of a resolved Spec. The
// parent and the child are the same binary (or the slim sandbox-init) and
// each reads as one story: Run (run_linux.go) records the run, listens on
// its control socket, starts init in new namespaces, maps its ids, starts
// the network, sends the Spec, relays until the payload ends and reports;
// init (init_linux.go) waits for its ids, re-executes itself with the
// namespace's capabilities, builds the root, starts the payload stage
// (stage_linux.go, package confine) and stays pid 1. The messages between
// them (sync_linux.go) and the sequence are in docs/internal.md.
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
