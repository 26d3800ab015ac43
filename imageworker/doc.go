// Package imageworker is the image store's namespaced worker and the
// handle that pairs the two: a helper process in a user namespace with the
// sandbox's id mapping unpacks, packs, diffs, applies, verifies and removes
// trees owned by subordinate ids (the user alone cannot), serving the
// store's requests over a pipe. Images is the store with the worker that
// suits the user (the helper, or in-process unpacking without subordinate
// ids); Resolve gets the image a profile asks for, pinned by sandbox.lock.
package imageworker

import (
	"os"

	"sandbox/imagestore"
	"sandbox/internal/reexec"
	"sandbox/profiles"
)

// The worker's roles: "unpack" waits for its id map, holding the
// namespace's capabilities through its exec (userns.AmbientCaps), and
// serves; started without them (a cgo build), it executes itself again as
// "unpack-2" once mapped, which then holds them.
func init() {
	reexec.Register("unpack", "sandbox-init", func([]string) { os.Exit(unpackWorker("unpack")) })
	reexec.Register("unpack-2", "sandbox-init", func([]string) { os.Exit(unpackWorker("unpack-2")) })
	// A profile's image is checked at load with the store's own parser.
	profiles.CheckImageRef = imagestore.CheckRef
}

// exitSetup is the worker's exit status when it cannot serve: 125, the
// sandbox's "could not be set up" (cmd/sandbox prints the reason the
// caller reports).
const exitSetup = 125
