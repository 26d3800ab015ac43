// Package session is the one pre-run phase of `sandbox run`, `shell` and
// `build`: check what can fail early, build the root filesystem (the
// host's, or an image pulled, with its setup steps built as cached layers
// and held against sandbox.lock, and the project's own layer), resolve ONE
// sandbox.Spec for that root (NewSpec on a Root value), then run it with
// sandbox.Run. A setup step is a Request on an ImageRoot given to the same
// launch as the user's run.
//
// It sits above sandbox (the process model) and the per-project and
// device packages; only cmd/sandbox and doctor import it.
package session
