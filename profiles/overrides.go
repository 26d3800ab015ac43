package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Source says where a resolved profile came from.
type Source struct {
	Path    string // the profile file; "" for the built-in default
	Project string // the project root: the profile's directory, or the working directory
	Digest  string // the profile file's content hash (what trust records); "" for the built-in
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
	data, err := os.ReadFile(abs)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, Source{}, fmt.Errorf("reading profile: %w", err)
	}
	if err != nil {
		return nil, Source{}, &Error{File: file, Msg: "profile not found", Suggest: "check the path given to --profile, or run sandbox init to write one"}
	}
	// One read: the content trusted is the content parsed.
	p, err := Parse(abs, data)
	return p, Source{Path: abs, Project: filepath.Dir(abs), Digest: Digest(data)}, err
}

// Overrides are the command-line flags that win over the profile.
type Overrides struct {
	Env      []string // KEY=VALUE
	Mounts   []string // SRC:DST[:ro|rw]
	Workdir  string
	User     string
	Hostname string
	Memory   string  // --memory
	CPUs     float64 // --cpus
	Pids     int     // --pids
	Timeout  string  // --timeout
	Image    string  // --image
	// Network, Publish and Allow are podman's --network, -p/--publish and
	// an --allow of our own: [network] mode, ports and allow.
	Network string   // --network MODE
	Publish []string // -p [ip:]hostport:port[/proto] (repeatable)
	Allow   []string // --allow HOST (repeatable)
	Devices []string // --device PATH or vendor.com/class=name
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
		p.User = UserMode(o.User)
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
		if err := p.Limits.Memory.UnmarshalText([]byte(o.Memory)); err != nil {
			return &Error{Msg: "limits.memory: " + err.Error() + " (from --memory)", Suggest: "write e.g. --memory 2GiB"}
		}
	}
	if o.CPUs != 0 {
		p.Limits.CPUs = o.CPUs
	}
	if o.Pids != 0 {
		p.Limits.Pids = o.Pids
	}
	if o.Timeout != "" {
		if err := p.Limits.Timeout.UnmarshalText([]byte(o.Timeout)); err != nil {
			return &Error{Msg: "limits.timeout: " + err.Error() + " (from --timeout)", Suggest: "write e.g. --timeout 30m"}
		}
	}
	if o.Network != "" {
		p.Network.Mode = NetworkMode(o.Network)
	}
	for _, s := range o.Publish {
		port, err := ParsePort(s)
		if err != nil {
			return &Error{Msg: err.Error() + " (from --publish)", Suggest: "write e.g. -p 8080:80 or -p 127.0.0.1:8080:80/tcp"}
		}
		p.Network.Ports = append(p.Network.Ports, port)
	}
	// --allow says what to let through; in mode none (with no --network)
	// that only makes sense as the proxy, so it switches to it.
	if len(o.Allow) > 0 && o.Network == "" && p.Network.Mode == "none" {
		p.Network.Mode = "proxy"
	}
	p.Network.Allow = append(p.Network.Allow, o.Allow...)
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
		m.Mode = MountMode(parts[2])
	}
	if m.Source == "tmpfs" {
		m.Source, m.Type = "", "tmpfs"
	}
	return m, nil
}
