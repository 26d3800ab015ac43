// Package workspace is a project's state beside its sandboxes: the checks
// that a directory may be a project, the names of its state, its sandbox
// home and shared caches, its sandbox on an image (the upper layer, the
// commits, diff/commit/history/rollback, pushing its head), the project
// overlay with apply and discard, and the project's protected paths. It
// runs no sandbox: trees owned by subordinate ids are read and written
// through the image worker (package imageworker), and what belongs to the
// process model (the run-state directory, the live runs) comes in as
// parameters.
package workspace
