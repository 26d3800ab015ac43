package profiles

import (
	"bytes"
	_ "embed"
)

//go:embed builtin/default.toml
var defaultTOML []byte

// DefaultTOML returns the embedded default profile's source.
func DefaultTOML() []byte { return bytes.Clone(defaultTOML) }

// Defaults returns the built-in default profile, decoded.
func Defaults() *Profile {
	p := &Profile{}
	if err := decodeInto(p, "<built-in>", defaultTOML); err != nil {
		panic("profiles: built-in default profile is invalid: " + err.Error())
	}
	p.set = nil // defaults are not choices an image's settings must yield to
	return p
}
