package profiles

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Source says where a resolved profile came from.
type Source struct {
	Path    string // the profile file; "" for the built-in default
	Project string // the project root: the profile's directory, or the working directory
}

// Open finds and loads the profile for a command run in dir: file if given,
// else the nearest sandbox.toml up the tree, else the built-in default.
func Open(dir, file string) (*Profile, Source, error) {
	if file == "" {
		found, err := Find(dir)
		if err == ErrNotFound {
			abs, err := filepath.Abs(dir)
			return Defaults(), Source{Project: abs}, err
		}
		if err != nil {
			return nil, Source{}, err
		}
		file = found
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, Source{}, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, Source{}, &Error{File: file, Msg: "profile not found", Suggest: "check the path given to --profile, or run sandbox init to write one"}
	}
	p, err := Load(abs)
	return p, Source{Path: abs, Project: filepath.Dir(abs)}, err
}

// Overrides are the command-line flags that win over the profile.
type Overrides struct {
	Env      []string // KEY=VALUE
	Mounts   []string // SRC:DST[:ro|rw]
	Workdir  string
	User     string
	Hostname string
	Memory   string   // --memory
	CPUs     float64  // --cpus
	Pids     int      // --pids
	Timeout  string   // --timeout
	Image    string   // --image
	Devices  []string // --device PATH or vendor.com/class=name
}

// Apply writes the overrides into p and validates the result.
func (p *Profile) Apply(o Overrides) error {
	for _, kv := range o.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return &Error{Msg: fmt.Sprintf("--env %q is not KEY=VALUE", kv), Suggest: "write --env NAME=value"}
		}
		if p.Env == nil {
			p.Env = map[string]string{}
		}
		p.Env[k] = v
	}
	for _, spec := range o.Mounts {
		m, err := ParseMountFlag(spec)
		if err != nil {
			return err
		}
		p.Mounts = append(p.Mounts, m)
	}
	p.Devices = append(p.Devices, o.Devices...)
	if o.Workdir != "" {
		p.Workdir = o.Workdir
		p.markSet("workdir")
	}
	if o.User != "" {
		p.User = o.User
		p.markSet("user")
	}
	if o.Image != "" {
		p.Image = o.Image
		p.markSet("image")
	}
	if o.Hostname != "" {
		p.Hostname = o.Hostname
	}
	if o.Memory != "" {
		p.Limits.Memory = o.Memory
	}
	if o.CPUs != 0 {
		p.Limits.CPUs = o.CPUs
	}
	if o.Pids != 0 {
		p.Limits.Pids = o.Pids
	}
	if o.Timeout != "" {
		p.Limits.Timeout = o.Timeout
	}
	return p.Validate()
}

// ParseMountFlag parses --mount SRC:DST[:ro|rw] (bind) or tmpfs:DST.
func ParseMountFlag(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	bad := &Error{Msg: fmt.Sprintf("--mount %q is not SRC:DST[:ro|rw]", s), Suggest: "write e.g. --mount ~/.cache/go-build:~/.cache/go-build or --mount tmpfs:/scratch"}
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Mount{}, bad
	}
	m := Mount{Source: parts[0], Target: parts[1], Type: "bind", Mode: "rw"}
	if len(parts) == 3 {
		if parts[2] != "ro" && parts[2] != "rw" {
			return Mount{}, bad
		}
		m.Mode = parts[2]
	}
	if m.Source == "tmpfs" {
		m.Source, m.Type = "", "tmpfs"
	}
	return m, nil
}
