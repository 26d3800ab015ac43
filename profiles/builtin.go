package profiles

import (
	"bytes"
	_ "embed"
)

//go:embed builtin/default.toml
var defaultTOML []byte

// DefaultTOML returns the embedded default profile's source.
func DefaultTOML() []byte { return bytes.Clone(defaultTOML) }

// Defaults returns the built-in default profile: builtin/default.toml
// (what `sandbox init` writes and what a sandbox.toml starts from) as a
// Go value, a new one on each call. Decoding the TOML here cost every
// run about 1.5 ms, three times over (Open, then Grants twice: issue 18);
// TestDefaultsAreTheTOML keeps the two the same.
func Defaults() *Profile {
	return &Profile{
		Base:           "host",
		Hostname:       "sandbox",
		User:           "self",
		Workdir:        ".",
		EnvPassthrough: []string{"TERM", "LANG", "LC_*", "COLORTERM", "TZ"},
		Env:            map[string]string{},
		Network:        Network{Mode: "none"},
		Limits:         Limits{Required: true},
		Protect:        Protect{Defaults: true},
		Tmpfs: TmpfsSizes{
			Tmp: Size{bytes: 1 << 30, text: "1GiB"},
			Shm: Size{bytes: 256 << 20, text: "256MiB"},
			Run: Size{bytes: 64 << 20, text: "64MiB"},
		},
		Security: Security{Seccomp: SeccompDefault, AllowSyscalls: []string{}},
	}
}
