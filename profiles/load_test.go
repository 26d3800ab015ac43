package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	p := Defaults()
	if p.Base != "host" || p.User != "self" || p.Hostname != "sandbox" || p.Workdir != "." || p.Network.Mode != "none" {
		t.Errorf("Defaults() = %+v, want host/self/sandbox/./none", p)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Defaults().Validate() = %v", err)
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	p, err := Parse("sandbox.toml", []byte(`
hostname = "dev"
user = "root"
env_passthrough = ["TERM"]
[env]
GOFLAGS = "-mod=mod"
[[mount]]
source = "~/.cache/go-build"
target = "~/.cache/go-build"
[[mount]]
target = "/scratch"
type = "tmpfs"
mode = "ro"
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Hostname != "dev" || p.User != "root" || p.Shell != "" || p.Base != "host" {
		t.Errorf("got %+v", p)
	}
	if len(p.EnvPassthrough) != 1 || p.Env["GOFLAGS"] != "-mod=mod" {
		t.Errorf("env: got %v %v", p.EnvPassthrough, p.Env)
	}
	if len(p.Mounts) != 2 || !p.Mounts[1].ReadOnly() || p.Mounts[1].Type != "tmpfs" {
		t.Errorf("mounts: got %+v", p.Mounts)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // each must appear in the error text, in order
		hint      string
	}{
		{"syntax", "hostname = \n", []string{"sandbox.toml:1:"}, ""},
		{"unknown key", "\nhostnme = \"x\"\n", []string{"sandbox.toml:2:1: unknown key \"hostnme\""}, `did you mean "hostname"?`},
		{"unknown nested key", "[network]\nmdoe = \"none\"\n", []string{"sandbox.toml:2:1: unknown key \"network.mdoe\""}, `did you mean "mode"?`},
		{"unknown mount key", "[[mount]]\ntarget = \"/x\"\n[[mount]]\n  sorce = \"/y\"\n", []string{"sandbox.toml:4:3: unknown key \"mount.1.sorce\""}, `did you mean "source"?`},
		{"wrong type", "hostname = 3\n", []string{"sandbox.toml:1:1: hostname must be a string, not an integer"}, ""},
		{"wrong array type", "env_passthrough = \"TERM\"\n", []string{"sandbox.toml:1:1: env_passthrough must be an array"}, ""},
		{"relative target", "[[mount]]\nsource = \"/etc\"\ntarget = \"etc\"\n", []string{"sandbox.toml:3:1: mount target \"etc\" is relative"}, "absolute path"},
		{"escaping target", "[[mount]]\nsource = \"/etc\"\ntarget = \"/a/../../etc\"\n", []string{"sandbox.toml:3:1:", `contains ".."`}, ""},
		{"duplicate target", "[[mount]]\nsource = \"/a\"\ntarget = \"/x\"\n[[mount]]\nsource = \"/b\"\ntarget = \"/x/\"\n", []string{"sandbox.toml:6:1: mount target \"/x/\" is also the target of mount 1"}, ""},
		{"proc target", "[[mount]]\nsource = \"/a\"\ntarget = \"/proc/sys\"\n", []string{"would cover the sandbox's own /proc"}, ""},
		{"bad user", "user = \"admin\"\n", []string{"sandbox.toml:1:1: user \"admin\""}, `user = "self"`},
		{"bad workdir", "workdir = \"../up\"\n", []string{"sandbox.toml:1:1: workdir \"../up\" is not inside the project"}, ""},
		{"bad network", "[network]\nmode = \"tap\"\n", []string{"sandbox.toml:2:1: network mode \"tap\""}, ""},
		{"ports without slirp", "[network]\nports = [\"8080:80\"]\n", []string{"sandbox.toml:2:1: network.ports in mode \"none\""}, "slirp"},
		{"bad host", "[network]\nmode = \"proxy\"\n[network.hosts]\n\"a.test\" = \"nope\"\n", []string{"sandbox.toml:4:1: network.hosts"}, ""},
		{"tmpfs with source", "[[mount]]\ntype = \"tmpfs\"\nsource = \"/a\"\ntarget = \"/x\"\n", []string{"sandbox.toml:3:1:", "takes no source"}, ""},
		{"bad seccomp", "[security]\nseccomp = \"strict\"\n", []string{"sandbox.toml:2:1: security.seccomp \"strict\""}, `seccomp = "off"`},
		{"allow unknown syscall", "[security]\n\nallow_syscalls = [\"keyctl\", \"read\"]\n", []string{"sandbox.toml:3:1: security.allow_syscalls: \"read\" is not denied"}, "io_uring"},
		{"allow without filter", "[security]\nseccomp = \"off\"\nallow_syscalls = [\"bpf\"]\n", []string{"sandbox.toml:3:1:", "no filter"}, ""},
		{"seccomp type", "[security]\nseccomp = 3\n", []string{"sandbox.toml:2:1: security.seccomp must be a string"}, ""},
		{"our own env name", "[env]\n_SANDBOX_PAYLOAD = \"{}\"\n", []string{"sandbox.toml:2:1:", "reserved for the sandbox"}, "rename it"},
		{"nested_userns type", "[security]\nnested_userns = \"yes\"\n", []string{"sandbox.toml:2:1: security.nested_userns must be true or false"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("sandbox.toml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want %q", tt.src, tt.want)
			}
			text := err.Error()
			for _, w := range tt.want {
				i := strings.Index(text, w)
				if i < 0 {
					t.Fatalf("Parse(%q) error = %q, want it to contain %q", tt.src, text, w)
				}
				text = text[i+len(w):]
			}
			var h interface{ Hint() string }
			if tt.hint != "" && (!errors.As(err, &h) || !strings.Contains(h.Hint(), tt.hint)) {
				t.Errorf("Parse(%q) hint = %v, want it to contain %q", tt.src, err, tt.hint)
			}
		})
	}
}

func TestFindWalksUp(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(deep); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find with no profile = %v, want ErrNotFound", err)
	}
	want := filepath.Join(root, "a", FileName)
	if err := os.WriteFile(want, []byte("hostname = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep)
	if err != nil || got != want {
		t.Fatalf("Find(%s) = %q, %v, want %q", deep, got, err, want)
	}
	p, src, err := Open(deep, "")
	if err != nil || p.Hostname != "x" || src.Project != filepath.Join(root, "a") {
		t.Fatalf("Open = %+v, %+v, %v", p, src, err)
	}
}

func TestApplyOverrides(t *testing.T) {
	p := Defaults()
	err := p.Apply(Overrides{Env: []string{"A=1", "B=x=y"}, Mounts: []string{"/src:/dst:ro", "tmpfs:/t"}, User: "root", Hostname: "h", Workdir: "sub"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Env["A"] != "1" || p.Env["B"] != "x=y" || p.User != "root" || p.Hostname != "h" || p.Workdir != "sub" {
		t.Errorf("got %+v", p)
	}
	if len(p.Mounts) != 2 || p.Mounts[0] != (Mount{Source: "/src", Target: "/dst", Mode: "ro", Type: "bind"}) || p.Mounts[1].Type != "tmpfs" {
		t.Errorf("mounts = %+v", p.Mounts)
	}
	for _, bad := range []Overrides{{Env: []string{"NOEQUALS"}}, {Mounts: []string{"/only"}}, {Mounts: []string{"/a:/b:rx"}}, {User: "nobody"}, {Mounts: []string{"/a:rel"}}} {
		if err := Defaults().Apply(bad); err == nil {
			t.Errorf("Apply(%+v) = nil, want an error", bad)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"hostnme", "hostname", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got := closest("zzzzzz", []string{"base", "user"}); got != "" {
		t.Errorf("closest(zzzzzz) = %q, want none", got)
	}
}

func TestLimits(t *testing.T) {
	p, err := Parse("sandbox.toml", []byte(`
[limits]
memory = "2GiB"
memory_swap = "0"
cpus = 1.5
cpu_weight = 100
pids = 512
io_weight = 50
required = false
timeout = "30m"
[limits.rlimits]
nofile = 4096
core = 0
`))
	if err != nil {
		t.Fatal(err)
	}
	l := p.Limits
	if l.Memory.Bytes() != 2<<30 || l.CPUs != 1.5 || l.Pids != 512 || l.Required || l.Rlimits["nofile"] != 4096 || !l.NeedsCgroup() {
		t.Errorf("limits = %+v", l)
	}
	if !Defaults().Limits.Required || Defaults().Limits.NeedsCgroup() {
		t.Errorf("default limits = %+v, want required and none set", Defaults().Limits)
	}
	if p, err := Parse("x.toml", []byte("[limits]\ncpus = 2\n")); err != nil || p.Limits.CPUs != 2 {
		t.Errorf("cpus = 2 (an integer): %v, %v", p, err)
	}
	for src, want := range map[string]string{
		"[limits]\nmemory = \"lots\"\n":           `x.toml:2:11: limits.memory: "lots" is not a size`,
		"[limits]\ncpus = \"1\"\n":                `limits.cpus must be a number, not a string`,
		"[limits]\npids = -3\n":                   `limits.pids -3 is negative`,
		"[limits]\ntimeout = \"soon\"\n":          `x.toml:2:12: limits.timeout: "soon" is not a positive duration`,
		"[limits]\nrequired = \"yes\"\n":          `limits.required must be true or false`,
		"[limits.rlimits]\nnofiles = 10\n":        `x.toml:2:1: limits.rlimits: unknown resource "nofiles"`,
		"[limits]\ncpu_weight = 0\ncpus = 2000\n": `limits.cpus 2000 is out of range`,
	} {
		_, err := Parse("x.toml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", src, err, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "2GiB": 2 << 30, "512M": 512 << 20, "1.5G": 3 << 29, "1kb": 1000, "64 MiB": 64 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1G", "2 bananas", "1e3"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

// TestDefaultsAreTheTOML: Defaults is builtin/default.toml written as a
// Go value (decoding it cost each run ~1.5 ms three times, issue 18); an
// edit to one of them without the other fails here. Each call returns a
// profile of its own.
func TestDefaultsAreTheTOML(t *testing.T) {
	decoded := &Profile{}
	if err := decodeInto(decoded, "<built-in>", DefaultTOML()); err != nil {
		t.Fatalf("decoding builtin/default.toml: %v", err)
	}
	decoded.set = nil
	if got := Defaults(); !reflect.DeepEqual(got, decoded) {
		t.Errorf("Defaults() = %+v\nbuiltin/default.toml decodes to %+v", got, decoded)
	}
	a, b := Defaults(), Defaults()
	a.Env["X"], a.EnvPassthrough[0] = "1", "CHANGED"
	if len(b.Env) != 0 || b.EnvPassthrough[0] != "TERM" {
		t.Errorf("Defaults() shares maps or slices between calls: %+v", b)
	}
}
