// Package profiles reads, validates and resolves sandbox profiles: the TOML
// files (sandbox.toml) that describe a project's sandbox, layered on an
// embedded default profile.
package profiles

// FileName is the name of a project's profile, looked up in the working
// directory and its parents the way git looks up .git.
const FileName = "sandbox.toml"

// Profile is the decoded form of sandbox.toml. Zero values mean "not set"
// only where documented; Defaults fills in the rest.
type Profile struct {
	// Base is the root filesystem: "host" is the host's, read-only.
	Base string `toml:"base" json:"base"`
	// Image, if set, replaces the base: the root filesystem is this OCI
	// image (pulled if missing) under the sandbox's own writable layer.
	Image string `toml:"image,omitempty" json:"image,omitempty"`
	// InsecureRegistries are "host:port" registries reached over plain
	// HTTP or unverified TLS.
	InsecureRegistries []string `toml:"insecure_registries,omitempty" json:"insecure_registries,omitempty"`
	// Hostname is the sandbox's hostname (its own UTS namespace).
	Hostname string `toml:"hostname" json:"hostname"`
	// User is "self" (your uid, gid, name and home path) or "root" (uid 0).
	User UserMode `toml:"user" json:"user"`
	// Shell is the program `sandbox shell` starts; empty means $SHELL if it
	// exists inside, else /bin/sh.
	Shell string `toml:"shell" json:"shell"`
	// Workdir is the working directory, relative to the project root.
	Workdir string `toml:"workdir" json:"workdir"`
	// Project is how the project directory is mounted: "bind" (default,
	// read-write) or "overlay" (writes land in the sandbox until
	// `sandbox apply`).
	Project ProjectMode `toml:"project,omitempty" json:"project,omitempty"`
	// EnvPassthrough names host variables copied in; "LC_*" matches a prefix.
	EnvPassthrough []string `toml:"env_passthrough" json:"env_passthrough"`
	// Env sets variables inside; it wins over passed-through ones.
	Env map[string]string `toml:"env" json:"env"`
	// Mounts are extra bind or tmpfs mounts, applied after the base ones.
	Mounts []Mount `toml:"mount" json:"mount,omitempty"`
	// Network describes the sandbox's network.
	Network Network `toml:"network" json:"network"`
	// Limits are resource limits.
	Limits Limits `toml:"limits" json:"limits"`
	// Cache shares download caches between the user's sandboxes.
	Cache Cache `toml:"cache,omitempty" json:"cache,omitzero"`
	// Setup are steps run on the image, in order, each cached as a layer.
	Setup []Step `toml:"setup,omitempty" json:"setup,omitempty"`
	// Protect lists the project paths the host runs on its own (git
	// hooks, editor tasks), read-only inside.
	Protect Protect `toml:"protect" json:"protect"`
	// Tmpfs sizes the sandbox's own /tmp, /dev/shm and /run.
	Tmpfs TmpfsSizes `toml:"tmpfs" json:"tmpfs"`
	// Security is the [security] table: the kernel surface the payload gets.
	Security Security `toml:"security" json:"security"`
	// Devices are host device nodes ("/dev/kvm") and CDI devices
	// ("vendor.com/class=name") made visible inside; see devices.go.
	Devices []string `toml:"devices,omitempty" json:"devices,omitempty"`
	// Forward passes host desktop and agent sockets in, each off by default.
	Forward Forward `toml:"forward" json:"forward"`

	// set are the top-level keys the profile file or flags gave, so that
	// an image's own settings (user, workdir) apply where they did not.
	set map[string]bool
}

// IsSet reports whether the profile file or a flag set the top-level key.
func (p *Profile) IsSet(key string) bool { return p.set[key] }

func (p *Profile) markSet(key string) {
	if p.set == nil {
		p.set = map[string]bool{}
	}
	p.set[key] = true
}

// Limits is the [limits] table. Zero values mean "no limit".
type Limits struct {
	// Memory is memory.max, e.g. "2GiB"; exceeding it kills the payload.
	Memory Size `toml:"memory,omitempty" json:"memory,omitempty"`
	// MemorySwap is memory.swap.max, e.g. "0".
	MemorySwap Size `toml:"memory_swap,omitempty" json:"memory_swap,omitempty"`
	// CPUs is the CPU bandwidth in CPUs: 1.5 is cpu.max "150000 100000".
	CPUs float64 `toml:"cpus,omitempty" json:"cpus,omitempty"`
	// CPUWeight is cpu.weight, 1-10000.
	CPUWeight int `toml:"cpu_weight,omitempty" json:"cpu_weight,omitempty"`
	// Pids is pids.max.
	Pids int `toml:"pids,omitempty" json:"pids,omitempty"`
	// IOWeight is io.weight, 1-10000.
	IOWeight int `toml:"io_weight,omitempty" json:"io_weight,omitempty"`
	// Required makes a limit that cannot be enforced an error (default)
	// rather than a warning.
	Required bool `toml:"required" json:"required"`
	// Timeout is a wall-clock limit for run, e.g. "30m": SIGTERM, then
	// SIGKILL after a grace period, exit status 124.
	Timeout Duration `toml:"timeout,omitempty" json:"timeout,omitempty"`
	// Rlimits are setrlimit(2) values by name (nofile, nproc, core, stack,
	// ...); -1 is unlimited. No cgroup needed.
	Rlimits map[string]int64 `toml:"rlimits,omitempty" json:"rlimits,omitempty"`
}

// NeedsCgroup reports whether any limit needs a cgroup.
func (l Limits) NeedsCgroup() bool {
	return l.Memory.IsSet() || l.MemorySwap.IsSet() || l.CPUs != 0 || l.CPUWeight != 0 || l.Pids != 0 || l.IOWeight != 0
}

// Mount is one [[mount]] table.
type Mount struct {
	// Source is a host path; ~ and $VARS are expanded with the host's values.
	// Unused for tmpfs.
	Source string `toml:"source" json:"source,omitempty"`
	// Target is the absolute path inside; a leading ~ is the sandbox home.
	Target string `toml:"target" json:"target"`
	// Mode is "ro" or "rw"; empty means "rw".
	Mode MountMode `toml:"mode" json:"mode,omitempty"`
	// Type is "bind" or "tmpfs"; empty means "bind".
	Type MountType `toml:"type" json:"type,omitempty"`
}

// Step is one [[setup]] table: a command run on the image (after the
// steps before it) whose changes become a cached layer.
type Step struct {
	// Run is a shell command (sh -c).
	Run string `toml:"run" json:"run"`
	// Inputs are project files the step reads (paths or globs, relative
	// to the project root); their content is part of the cache key.
	Inputs []string `toml:"inputs,omitempty" json:"inputs,omitempty"`
	// User runs the step: "root" (default) or "self".
	User UserMode `toml:"user,omitempty" json:"user,omitempty"`
	// Env is set for this step only (and is part of its cache key).
	Env map[string]string `toml:"env,omitempty" json:"env,omitempty"`
	// Network is the step's network mode; empty: the profile's.
	Network NetworkMode `toml:"network,omitempty" json:"network,omitempty"`
	// Line is where the step is written in its profile (0: not from a file).
	Line int `toml:"-" json:"line,omitempty"`
}

// Security is the [security] table.
type Security struct {
	// Seccomp is "default" (the default system-call filter) or "off".
	Seccomp SeccompMode `toml:"seccomp" json:"seccomp"`
	// AllowSyscalls take syscalls (or groups, e.g. "keyring") out of the
	// default filter's denylist.
	AllowSyscalls []string `toml:"allow_syscalls,omitempty" json:"allow_syscalls,omitempty"`
	// NestedUserns lets the payload create user namespaces (podman or
	// bwrap inside); false denies them.
	NestedUserns bool `toml:"nested_userns" json:"nested_userns"`
}

// SeccompMode is [security] seccomp.
type SeccompMode string

// The seccomp modes.
const (
	SeccompDefault SeccompMode = "default"
	SeccompOff     SeccompMode = "off"
)

// Valid reports whether m is one of the modes.
func (m SeccompMode) Valid() bool { return m == SeccompDefault || m == SeccompOff }

// Network is the [network] table.
type Network struct {
	// Mode is "none" (loopback only), "slirp" (own address, route and DNS
	// through pasta or slirp4netns), "host" (the host's network) or
	// "proxy" (no route out; an allowlisting HTTP/SOCKS5 proxy).
	Mode NetworkMode `toml:"mode" json:"mode"`
	// Backend forces "pasta" or "slirp4netns" in slirp mode.
	Backend Backend `toml:"backend,omitempty" json:"backend,omitempty"`
	// Ports forward host ports into the sandbox: "[ip:]hostport:port[/proto]".
	Ports []Port `toml:"ports,omitempty" json:"ports,omitempty"`
	// AllowHostLoopback lets the sandbox reach the host's 127.0.0.1 at the
	// gateway address (slirp mode).
	AllowHostLoopback bool `toml:"allow_host_loopback" json:"allow_host_loopback"`
	// DNS overrides the nameservers in the sandbox's resolv.conf.
	DNS []string `toml:"dns,omitempty" json:"dns,omitempty"`
	// Allow lists the hostnames the proxy lets through: exact, or "*.suffix".
	Allow []string `toml:"allow,omitempty" json:"allow,omitempty"`
	// Hosts are extra name → address entries: written to /etc/hosts
	// inside and used by the proxy's resolver.
	Hosts map[string]string `toml:"hosts,omitempty" json:"hosts,omitempty"`
}

// ReadOnly reports whether the mount is read-only.
func (m Mount) ReadOnly() bool { return m.Mode == "ro" }

// Warnings are what a user should know about a valid profile.
func (p *Profile) Warnings() []string {
	var w []string
	if p.Network.Mode == "host" {
		w = append(w, "network mode host: the sandbox shares the host's network namespace (its interfaces, ports and loopback services); nothing of the network is isolated")
	}
	return w
}

// Clone returns a copy of p that shares nothing with it that Apply or a
// caller may change (maps, slices, the record of set keys).
func (p *Profile) Clone() *Profile {
	c := *p
	c.set = make(map[string]bool, len(p.set))
	for k, v := range p.set {
		c.set[k] = v
	}
	c.Env = make(map[string]string, len(p.Env))
	for k, v := range p.Env {
		c.Env[k] = v
	}
	c.Mounts = append([]Mount(nil), p.Mounts...)
	c.EnvPassthrough = append([]string(nil), p.EnvPassthrough...)
	c.Setup = append([]Step(nil), p.Setup...)
	c.Protect.Paths = append([]string(nil), p.Protect.Paths...)
	c.Cache.Shared = append([]string(nil), p.Cache.Shared...)
	c.Security.AllowSyscalls = append([]string(nil), p.Security.AllowSyscalls...)
	c.Devices = append([]string(nil), p.Devices...)
	return &c
}
