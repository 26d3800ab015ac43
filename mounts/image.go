package mounts

// Overlay is the kind of the op that mounts an image's root: Layers
// stacked with overlayfs under the writable Upper. It can only be a plan's
// first op, with Target "/".
const Overlay Kind = "overlay"

// OverlayFS picks the overlay implementation: "" tries the kernel's, then
// fuse-overlayfs; "kernel" and "fuse" force one.
type OverlayFS = string

// ImageOptions describe the root of a sandbox on an image.
type ImageOptions struct {
	Layers []string // unpacked layers, bottom first
	// Upper and Work are the overlay's upper and work directories on the
	// host; empty means a throwaway upper layer in memory (--ephemeral).
	Upper, Work string
	Driver      OverlayFS
	Home        string // home path inside; "" leaves the image's
	HomeDir     string // host directory bound there; "" with Home set: a tmpfs
	Project     string // bound at the same path inside
	Files       Plan
	Extra       Plan
	Cgroup2     bool
	ProjectOp   *Op // see HostOptions
	Sizes       Sizes
}

// Image plans a root made of an image's layers under the sandbox's own
// upper layer: writable, kept between runs unless ephemeral. /proc, /sys,
// /dev and /run are fresh as on the host base; /tmp belongs to the image
// and persists with the rest of the sandbox's changes, as in podman.
func Image(o ImageOptions) Plan {
	p := Plan{{Kind: Overlay, Target: "/", Layers: o.Layers, Upper: o.Upper, Work: o.Work, Data: o.Driver}}
	p = append(p, Op{Kind: Tmpfs, Target: "/run", Data: "mode=755"})
	return p.finish(o.Home, o.HomeDir, projectOp(o.Project, o.ProjectOp), o.Files, o.Extra, o.Cgroup2).sized(o.Sizes)
}
