package imagestore

import (
	"errors"
	"fmt"
)

// ErrNotFound: no image by that reference in the store.
var ErrNotFound = errors.New("image not in the store")

// HostileError is an image refused because of what it contains: a path
// that escapes, an overlay-private attribute, a digest that does not
// match, a limit exceeded. Nothing of it is stored.
type HostileError struct {
	Layer string // the layer's digest, if the problem is in a layer
	Entry string // the tar entry, if any
	Msg   string
}

func (e *HostileError) Error() string {
	s := "refusing the image: " + e.Msg
	if e.Entry != "" {
		s += fmt.Sprintf(" (entry %q", e.Entry)
		if e.Layer != "" {
			s += " in layer " + short(e.Layer)
		}
		s += ")"
	} else if e.Layer != "" {
		s += " (layer " + short(e.Layer) + ")"
	}
	return s
}

// Hint says what the user can do.
func (e *HostileError) Hint() string {
	return "the image is malformed or malicious; nothing of it was stored. If you trust it and it is only large, raise the limit: sandbox pull --max-layer-size SIZE --max-layer-files N (or SANDBOX_MAX_LAYER_SIZE, SANDBOX_MAX_LAYER_FILES for every command)"
}

// InUseError is a removal refused because sandboxes stand on the image.
type InUseError struct {
	Ref      string
	Projects []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("image %s is used by the sandbox of %v", e.Ref, e.Projects)
}

// Hint says what the user can do.
func (e *InUseError) Hint() string {
	return "run `sandbox reset` in that project first, or pass --force (its sandbox then cannot start until it is reset)"
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}

func hostile(entry, format string, args ...any) error {
	return &HostileError{Entry: entry, Msg: fmt.Sprintf(format, args...)}
}
