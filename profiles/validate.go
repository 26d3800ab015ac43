package profiles

import (
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"

	"sandbox/seccomp"
)

// validHostname reports whether s is RFC 1123 labels joined by '.': each
// of 1-63 letters, digits and '-', neither first nor last a '-'. Written
// out rather than as a regexp: compiling its {0,61} repeats was ~0.8 ms of
// every run's start (issue 18); TestNamesMatchTheirRegexps holds it to the
// regexp it replaces.
func validHostname(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

// validEnvName reports whether s is a variable name: a letter or '_',
// then letters, digits and '_' (as validHostname, held to a regexp).
func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Validate checks the values of a profile that came from flags or code.
// Errors carry no position.
func (p *Profile) Validate() error { return p.validate("", nil) }

func (p *Profile) validate(file string, loc *locator) error {
	var errs Errors
	bad := func(path []string, hint, format string, args ...any) {
		e := &Error{File: file, Msg: fmt.Sprintf(format, args...), Suggest: hint}
		if loc != nil {
			e.Line, e.Col = loc.find(path)
		}
		errs = append(errs, e)
	}
	if p.Base != "host" {
		bad([]string{"base"}, `write base = "host", or image = "REF" for an image`, "base %q is not supported: the only base is \"host\"", p.Base)
	}
	if p.Image != "" && p.IsSet("base") {
		bad([]string{"image"}, "remove base: image replaces it", "base and image are both set: a sandbox has one root filesystem")
	}
	if p.Image != "" {
		// The parser the store uses: what it refuses, run would refuse.
		if err := check(CheckImageRef, p.Image); err != nil {
			bad([]string{"image"}, "write it as [REGISTRY/]REPOSITORY[:TAG|@sha256:DIGEST], e.g. docker.io/library/debian:bookworm", "image %q is not an image reference", p.Image)
		}
	}
	for i, r := range p.InsecureRegistries {
		if r == "" || strings.ContainsAny(r, "/ ") {
			bad([]string{"insecure_registries"}, `write "HOST" or "HOST:PORT", e.g. "localhost:5000"`, "insecure_registries[%d] %q is not a registry host", i, r)
		}
	}
	if !validHostname(p.Hostname) {
		bad([]string{"hostname"}, "use letters, digits, '-' and '.', at most 63 per label", "hostname %q is not a valid hostname", p.Hostname)
	}
	if !p.User.Valid() {
		bad([]string{"user"}, `write user = "self" or user = "root"`, "user %q is not one of \"self\", \"root\"", p.User)
	}
	if p.Shell != "" && !path.IsAbs(p.Shell) {
		bad([]string{"shell"}, "write the shell's absolute path, e.g. /bin/bash", "shell %q is not an absolute path", p.Shell)
	}
	if path.IsAbs(p.Workdir) || escapes(p.Workdir) {
		bad([]string{"workdir"}, "write a path relative to the directory holding sandbox.toml", "workdir %q is not inside the project", p.Workdir)
	}
	for _, name := range p.EnvPassthrough {
		if !validEnvName(strings.TrimSuffix(name, "*")) {
			bad([]string{"env_passthrough"}, "write names such as TERM or LC_*", "env_passthrough: %q is not a variable name or NAME* pattern", name)
		}
	}
	for name := range p.Env {
		switch {
		case !validEnvName(name):
			bad([]string{"env", name}, "", "env: %q is not a valid variable name", name)
		case strings.HasPrefix(name, "_SANDBOX_"):
			bad([]string{"env", name}, "rename it: the prefix is the sandbox's own", "env: %q: names starting with _SANDBOX_ are reserved for the sandbox", name)
		}
	}
	p.validateMounts(bad)
	p.validateSteps(bad)
	if !p.Project.Valid() {
		bad([]string{"project"}, `write project = "bind" or project = "overlay"`, "project %q is not one of \"bind\", \"overlay\"", p.Project)
	}
	if len(p.Setup) > 0 && p.Image == "" {
		bad([]string{"setup"}, `add image = "REF": steps build on an image`, "setup steps need an image")
	}
	p.Limits.validate(bad)
	p.Network.validate(bad)
	p.Protect.validate(bad)
	p.Tmpfs.validate(bad)
	p.Cache.validate(bad)
	p.Security.validate(bad)
	p.validateDevices(bad)
	return errs.orNil()
}

// validateMounts checks the [[mount]] tables.
func (p *Profile) validateMounts(bad func(path []string, hint, format string, args ...any)) {
	seen := map[string]int{}
	for i, m := range p.Mounts {
		at := func(key string) []string { return []string{"mount", strconv.Itoa(i), key} }
		if msg, hint := checkTarget(m.Target); msg != "" {
			bad(at("target"), hint, "mount target %q %s", m.Target, msg)
		} else if j, dup := seen[path.Clean(m.Target)]; dup {
			bad(at("target"), "remove one of them or give them different targets", "mount target %q is also the target of mount %d", m.Target, j+1)
		} else {
			seen[path.Clean(m.Target)] = i
		}
		switch {
		case !m.Type.Valid():
			bad(at("type"), `write type = "bind" or type = "tmpfs"`, "mount type %q is not one of \"bind\", \"tmpfs\"", m.Type)
		case m.Type == "" || m.Type == "bind":
			if m.Source == "" {
				bad(at("source"), "give the host path to mount, or type = \"tmpfs\"", "mount %d (%s) has no source", i+1, m.Target)
			}
		case m.Source != "": // tmpfs
			bad(at("source"), "remove source, or use type = \"bind\"", "mount %d (%s): a tmpfs mount takes no source", i+1, m.Target)
		}
		if !m.Mode.Valid() {
			bad(at("mode"), `write mode = "ro" or mode = "rw"`, "mount mode %q is not one of \"ro\", \"rw\"", m.Mode)
		}
	}
}

// validateSteps checks the [[setup]] tables.
func (p *Profile) validateSteps(bad func(path []string, hint, format string, args ...any)) {
	for i, st := range p.Setup {
		at := func(key string) []string { return []string{"setup", strconv.Itoa(i), key} }
		if strings.TrimSpace(st.Run) == "" {
			bad(at("run"), `write run = "the command"`, "setup step %d has no run command", i+1)
		}
		if st.User != "" && !st.User.Valid() {
			bad(at("user"), `write user = "root" or user = "self"`, "setup step %d: user %q is not one of \"root\", \"self\"", i+1, st.User)
		}
		if st.Network != "" && !st.Network.Valid() {
			bad(at("network"), `write network = "none", "slirp", "host" or "proxy", or leave it out for the profile's`, "setup step %d: network %q is not one of none, slirp, host, proxy", i+1, st.Network)
		}
		for _, in := range st.Inputs {
			if path.IsAbs(in) || escapes(in) {
				bad(at("inputs"), "write paths relative to the project root", "setup step %d: input %q is not inside the project", i+1, in)
			}
		}
	}
}

// checkTarget says what is wrong with a mount target, if anything.
func checkTarget(t string) (msg, hint string) {
	rest := t
	if t == "~" || strings.HasPrefix(t, "~/") {
		rest = "/home" + strings.TrimPrefix(t, "~")
	}
	switch {
	case t == "":
		return "is empty", "give an absolute path inside the sandbox, or ~/PATH"
	case !path.IsAbs(rest):
		return "is relative", "give an absolute path inside the sandbox, or ~/PATH for the sandbox home"
	case escapes(strings.TrimPrefix(rest, "/")):
		return "contains \"..\"", "write the path without \"..\""
	}
	clean := path.Clean(rest)
	for _, reserved := range []string{"/", "/proc", "/sys", "/dev"} {
		if clean == reserved || (reserved != "/" && strings.HasPrefix(clean, reserved+"/")) {
			if reserved == "/dev" && clean != "/dev" {
				return "would cover the sandbox's own /dev", `for a device node write devices = ["` + clean + `"] (or --device ` + clean + `); other mounts cannot go under /dev`
			}
			return "would cover the sandbox's own " + reserved, "choose another target"
		}
	}
	return "", ""
}

// escapes reports whether a relative path has a ".." element.
func escapes(rel string) bool {
	for _, elem := range strings.Split(rel, "/") {
		if elem == ".." {
			return true
		}
	}
	return false
}

// validate checks the [network] table.
func (n Network) validate(bad func(path []string, hint, format string, args ...any)) {
	at := func(key string) []string { return []string{"network", key} }
	if !n.Mode.Valid() {
		bad(at("mode"), `write mode = "none", "slirp", "host" or "proxy"`, "network mode %q is not one of none, slirp, host, proxy", n.Mode)
	}
	if !n.Backend.Valid() {
		bad(at("backend"), `write backend = "pasta" or "slirp4netns", or leave it out`, "network backend %q is not one of pasta, slirp4netns", n.Backend)
	}
	if len(n.Ports) > 0 && n.Mode != "slirp" && n.Mode != "proxy" {
		bad(at("ports"), `ports need mode = "slirp" or "proxy" (in mode "host" the sandbox's ports are the host's)`, "network.ports in mode %q", n.Mode)
	}
	if n.AllowHostLoopback && n.Mode != "slirp" && n.Mode != "proxy" {
		bad(at("allow_host_loopback"), `it applies to mode = "slirp" or "proxy"`, "network.allow_host_loopback in mode %q", n.Mode)
	}
	if len(n.Allow) > 0 && n.Mode != "proxy" {
		bad(at("allow"), `the allowlist is enforced in mode = "proxy" only`, "network.allow in mode %q", n.Mode)
	}
	for _, a := range n.Allow {
		name := strings.TrimPrefix(a, "*.")
		if net.ParseIP(a) == nil && !validHostname(name) {
			bad(at("allow"), `write names such as "packages.example.com" or "*.example.org"`, "network.allow: %q is not a hostname, *.suffix or IP address", a)
		}
	}
	for _, d := range n.DNS {
		if net.ParseIP(d) == nil {
			bad(at("dns"), `write IP addresses, e.g. dns = ["10.0.2.3"]`, "network.dns: %q is not an IP address", d)
		}
	}
	for name, ip := range n.Hosts {
		if net.ParseIP(ip) == nil || !validHostname(name) {
			bad([]string{"network", "hosts", name}, `write "name" = "IP address"`, "network.hosts: %q = %q is not a hostname and an IP address", name, ip)
		}
	}
}

// validate checks the [security] table.
func (s Security) validate(bad func(path []string, hint, format string, args ...any)) {
	if !s.Seccomp.Valid() {
		bad([]string{"security", "seccomp"}, `write seccomp = "default" or seccomp = "off"`, "security.seccomp %q is not one of \"default\", \"off\"", s.Seccomp)
	}
	// Only with entries: CheckAllow builds and sorts the set of names on
	// each call, and nearly every profile has none (issue 18).
	if len(s.AllowSyscalls) > 0 {
		if err := seccomp.CheckAllow(s.AllowSyscalls); err != nil {
			bad([]string{"security", "allow_syscalls"}, "name syscalls or groups the default filter denies: "+strings.Join(seccomp.Allowable(), ", "), "security.allow_syscalls: %v", err)
		}
	}
	if len(s.AllowSyscalls) > 0 && s.Seccomp == SeccompOff {
		bad([]string{"security", "allow_syscalls"}, `remove allow_syscalls, or write seccomp = "default"`, "security.allow_syscalls with seccomp = \"off\": there is no filter to allow them in")
	}
}
