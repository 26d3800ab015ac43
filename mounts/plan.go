// Package mounts builds a sandbox's root filesystem: a Plan of mount
// requests, pure data that the sandbox's init executes in one loop inside
// its mount namespace, the way bubblewrap runs its SetupOps.
package mounts

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// Kind is what an Op does.
type Kind string

// The kinds of Op. Sources of Bind and Dev are host paths; targets are
// absolute paths inside the sandbox.
const (
	Bind    Kind = "bind"    // bind Source (recursively) onto Target
	Dev     Kind = "dev"     // bind a host device node; keeps its device access
	Tmpfs   Kind = "tmpfs"   // a fresh tmpfs; Data holds its options
	Proc    Kind = "proc"    // a fresh proc for the sandbox's pid namespace
	Sysfs   Kind = "sysfs"   // a fresh sysfs, falling back to a bind of the host's
	Devpts  Kind = "devpts"  // a private devpts instance with its own ptmx
	Mqueue  Kind = "mqueue"  // POSIX message queues of the ipc namespace
	Cgroup2 Kind = "cgroup2" // the cgroup namespace's view of cgroup v2, if the host has it
	Mask    Kind = "mask"    // hide Target if it exists: empty tmpfs or /dev/null
	RO      Kind = "ro"      // make Target read-only if it exists
	// Pin binds Target onto itself if it exists: a mountpoint cannot be
	// renamed or removed (EBUSY), so what is mounted below it stays where
	// the host looks for it.
	Pin     Kind = "pin"
	Symlink Kind = "symlink" // a symlink at Target pointing to Source
	Dir     Kind = "dir"     // an empty directory
	// OverlayDir mounts an overlay of the host directory Layers[0] under
	// the host directory Upper (Work beside it) at Target; Upper "" keeps
	// the changes in memory. The project in project = "overlay" mode.
	OverlayDir Kind = "overlay-dir"
)

// Op is one mount request.
type Op struct {
	Kind     Kind   `json:"kind"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"ro,omitempty"`
	Data     string `json:"data,omitempty"` // comma-separated key=value options
	// Beneath, for a Bind, is a host directory (the project) that Source
	// lies in: Source is opened below it without following any symlink,
	// so that a sandbox that replaced a source by a symlink between runs
	// does not get the link's target mounted (CVE-2024-42472's class).
	Beneath string `json:"beneath,omitempty"`
	// Layers, Upper and Work belong to an Overlay op: host directories.
	Layers []string `json:"layers,omitempty"`
	Upper  string   `json:"upper,omitempty"`
	Work   string   `json:"work,omitempty"`
}

// Plan is the ordered list of mount requests that builds a root.
type Plan []Op

// hiddenTop are the host's top-level entries the sandbox does not see: the
// kernel filesystems it gets fresh copies of, and the places where users'
// files and sockets live.
var hiddenTop = map[string]bool{
	"proc": true, "sys": true, "dev": true, "tmp": true, "run": true,
	"home": true, "root": true, "mnt": true, "media": true, "lost+found": true,
}

// MaskedPaths and ReadonlyPaths are the OCI runtime-spec defaults (as in
// runc's and podman's generated specs).
var (
	MaskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", "/sys/fs/selinux",
	}
	ReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// Entry is one top-level entry of the host's root directory.
type Entry struct {
	Name     string
	Dir      bool
	LinkDest string // set for symlinks
}

// HostOptions describes the root of a sandbox on the host base.
type HostOptions struct {
	Root    []Entry // the host's top-level entries, from os.ReadDir("/")
	Home    string  // the home directory's path inside
	HomeDir string  // host directory behind it; "" for a throwaway tmpfs
	Project string  // the project directory, same path inside and out
	Files   Plan    // generated files bound in (resolv.conf, hosts); Extra wins over them
	Extra   Plan    // the profile's own mounts
	// ProjectOp, if set, mounts the project instead of a plain bind (an
	// OverlayDir in project = "overlay" mode).
	ProjectOp *Op
	// Cgroup2 mounts the sandbox's cgroup (its cgroup namespace's root)
	// read-only at /sys/fs/cgroup: for runs with limits, so that Go and the
	// JVM see them. Left out otherwise, as it costs start-up time.
	Cgroup2 bool
	// Sizes bound the sandbox's own tmpfs mounts.
	Sizes Sizes
}

// Host plans a root made of the host's filesystem, read-only, with a
// writable project, a private home, /tmp, /run and /dev, fresh /proc and
// /sys, generated files, and the OCI masks. Ops are ordered parents first;
// Extra replaces a base op (or file) with the same target.
func Host(o HostOptions) Plan {
	var p Plan
	for _, e := range o.Root {
		target := "/" + e.Name
		switch {
		case hiddenTop[e.Name]:
		case e.LinkDest != "":
			p = append(p, Op{Kind: Symlink, Source: e.LinkDest, Target: target})
		case e.Dir:
			p = append(p, Op{Kind: Bind, Source: target, Target: target, ReadOnly: true})
		}
	}
	p = append(p,
		Op{Kind: Tmpfs, Target: "/tmp", Data: "mode=1777"},
		Op{Kind: Tmpfs, Target: "/run", Data: "mode=755"},
	)
	return p.finish(o.Home, o.HomeDir, projectOp(o.Project, o.ProjectOp), o.Files, o.Extra, o.Cgroup2).sized(o.Sizes)
}

// projectOp is how the project is mounted: a read-write bind, unless op.
func projectOp(project string, op *Op) Op {
	if op != nil {
		return *op
	}
	return Op{Kind: Bind, Source: project, Target: project}
}

// finish adds what every root has after its base: /dev, /proc, /sys (and
// the cgroup), the home (when home is set: HomeDir bound, else a tmpfs),
// the project at its own path, the generated files, the profile's mounts
// replacing any op with the same target, the OCI masks; then orders it.
func (p Plan) finish(home, homeDir string, project Op, files, extra Plan, cgroup2 bool) Plan {
	p = append(p, devOps()...)
	p = append(p, Op{Kind: Proc, Target: "/proc"}, Op{Kind: Sysfs, Target: "/sys", ReadOnly: true})
	if cgroup2 {
		p = append(p, Op{Kind: Cgroup2, Target: "/sys/fs/cgroup", ReadOnly: true})
	}
	switch {
	case home != "" && homeDir != "":
		p = append(p, Op{Kind: Bind, Source: homeDir, Target: home})
	case home != "":
		p = append(p, Op{Kind: Tmpfs, Target: home, Data: "mode=700"})
	}
	p = append(p, project)
	p = append(p, files...).override(extra)
	for _, m := range MaskedPaths {
		p = append(p, Op{Kind: Mask, Target: m})
	}
	for _, r := range ReadonlyPaths {
		p = append(p, Op{Kind: RO, Target: r})
	}
	p.sort()
	return p
}

// devOps is a minimal /dev: a tmpfs with the harmless host nodes bound in
// (a user namespace cannot mknod), a private devpts and /dev/shm.
func devOps() Plan {
	// Small and fixed: /dev holds mount points and links, and a root
	// payload owns it, so unbounded it would pin up to half the host's
	// memory (review 13, #7).
	p := Plan{{Kind: Tmpfs, Target: "/dev", Data: "mode=755,size=1048576,nr_inodes=4096"}}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		p = append(p, Op{Kind: Dev, Source: "/dev/" + n, Target: "/dev/" + n})
	}
	return append(p,
		Op{Kind: Devpts, Target: "/dev/pts", Data: "newinstance,ptmxmode=0666,mode=620"},
		Op{Kind: Symlink, Source: "pts/ptmx", Target: "/dev/ptmx"},
		Op{Kind: Tmpfs, Target: "/dev/shm", Data: "mode=1777"},
		Op{Kind: Mqueue, Target: "/dev/mqueue"},
		Op{Kind: Symlink, Source: "/proc/self/fd", Target: "/dev/fd"},
		Op{Kind: Symlink, Source: "/proc/self/fd/0", Target: "/dev/stdin"},
		Op{Kind: Symlink, Source: "/proc/self/fd/1", Target: "/dev/stdout"},
		Op{Kind: Symlink, Source: "/proc/self/fd/2", Target: "/dev/stderr"},
	)
}

// override appends extra, dropping the ops of p that extra's targets replace.
func (p Plan) override(extra Plan) Plan {
	replaced := map[string]bool{}
	for _, op := range extra {
		replaced[path.Clean(op.Target)] = true
	}
	out := p[:0:0]
	for _, op := range p {
		if !replaced[path.Clean(op.Target)] {
			out = append(out, op)
		}
	}
	return append(out, extra...)
}

// sort orders ops by target depth, keeping the given order among equals, so
// every op runs after the op that provides its parent directory.
func (p Plan) sort() {
	sort.SliceStable(p, func(i, j int) bool { return depth(p[i].Target) < depth(p[j].Target) })
}

func depth(target string) int {
	return strings.Count(strings.Trim(path.Clean(target), "/"), "/")
}

// Under reports whether path p is one of dirs or below one.
func Under(p string, dirs ...string) bool {
	for _, dir := range dirs {
		if p == dir || dir == "/" || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// TopFirst orders layers listed bottom first (as images list them) top
// first, as overlayfs's lowerdir and the differ want them.
func TopFirst(layers []string) []string {
	out := slices.Clone(layers)
	slices.Reverse(out)
	return out
}
