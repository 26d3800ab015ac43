package profiles

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Compiled on first use: sandbox init runs this binary too, and every
// package-level init is paid on each sandbox start.
var (
	envName  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	hostname = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	})
)

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
		bad([]string{"base"}, `write base = "host"`, "base %q is not supported: the only base is \"host\"", p.Base)
	}
	if !hostname().MatchString(p.Hostname) {
		bad([]string{"hostname"}, "use letters, digits, '-' and '.', at most 63 per label", "hostname %q is not a valid hostname", p.Hostname)
	}
	if p.User != "self" && p.User != "root" {
		bad([]string{"user"}, `write user = "self" or user = "root"`, "user %q is not one of \"self\", \"root\"", p.User)
	}
	if p.Shell != "" && !path.IsAbs(p.Shell) {
		bad([]string{"shell"}, "write the shell's absolute path, e.g. /bin/bash", "shell %q is not an absolute path", p.Shell)
	}
	if path.IsAbs(p.Workdir) || escapes(p.Workdir) {
		bad([]string{"workdir"}, "write a path relative to the directory holding sandbox.toml", "workdir %q is not inside the project", p.Workdir)
	}
	for _, name := range p.EnvPassthrough {
		if !envName().MatchString(strings.TrimSuffix(name, "*")) {
			bad([]string{"env_passthrough"}, "write names such as TERM or LC_*", "env_passthrough: %q is not a variable name or NAME* pattern", name)
		}
	}
	for name := range p.Env {
		if !envName().MatchString(name) {
			bad([]string{"env", name}, "", "env: %q is not a valid variable name", name)
		}
	}
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
		switch m.Type {
		case "", "bind":
			if m.Source == "" {
				bad(at("source"), "give the host path to mount, or type = \"tmpfs\"", "mount %d (%s) has no source", i+1, m.Target)
			}
		case "tmpfs":
			if m.Source != "" {
				bad(at("source"), "remove source, or use type = \"bind\"", "mount %d (%s): a tmpfs mount takes no source", i+1, m.Target)
			}
		default:
			bad(at("type"), `write type = "bind" or type = "tmpfs"`, "mount type %q is not one of \"bind\", \"tmpfs\"", m.Type)
		}
		if m.Mode != "" && m.Mode != "ro" && m.Mode != "rw" {
			bad(at("mode"), `write mode = "ro" or mode = "rw"`, "mount mode %q is not one of \"ro\", \"rw\"", m.Mode)
		}
	}
	p.Limits.validate(bad)
	if p.Network.Mode != "none" {
		bad([]string{"network", "mode"}, `write mode = "none"; other network modes are not available in this version`, "network mode %q is not supported", p.Network.Mode)
	}
	return errs.orNil()
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
