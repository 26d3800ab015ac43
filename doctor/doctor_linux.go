// Package doctor checks what this host offers a rootless sandbox, one
// check per feature, each with the command that fixes what is missing. It
// sits above everything it checks and below the CLI alone.
package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/cgroup"
	"sandbox/devices"
	"sandbox/host"
	"sandbox/internal/reexec"
	"sandbox/landlock"
	"sandbox/mounts"
	"sandbox/seccomp"
	"sandbox/slirp"
	"sandbox/userns"
)

// The probes doctor runs in a fresh copy of the binary: "probe" only has
// to start in a new user namespace; "probe-overlay" mounts a kernel
// overlayfs there (see checkOverlay).
func init() {
	reexec.Register("probe", "sandbox-init", func([]string) {})
	reexec.Register("probe-overlay", "sandbox-init", func(args []string) { os.Exit(probeOverlay(args)) })
}

// Check is one line of `sandbox doctor`.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok", "warn" or "fail"
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"` // the command that fixes it
}

// Run checks what this host offers. Only a "fail" stops `sandbox run`;
// "warn" marks something a later feature (images, network, limits) needs
// or a degraded mode.
func Run() []Check {
	host, err := host.Current()
	if err != nil {
		return []Check{{Name: "user", Status: "fail", Detail: err.Error(), Fix: "export HOME=/path/to/your/home"}}
	}
	overlay, fuse := checkOverlay(), checkFuse()
	return []Check{
		checkUserNS(),
		checkSubIDs("subuid", userns.SubUIDFile, host, "--add-subuids"),
		checkSubIDs("subgid", userns.SubGIDFile, host, "--add-subgids"),
		checkHelper("newuidmap"),
		checkHelper("newgidmap"),
		overlay,
		fuse,
		checkImages(overlay, fuse, host),
		checkNetHelpers(),
		checkCgroup(),
		checkLandlock(),
		checkSeccomp(),
		checkCDI(),
	}
}

func ok(name, detail string) Check { return Check{Name: name, Status: "ok", Detail: detail} }
func warn(name, detail, fix string) Check {
	return Check{Name: name, Status: "warn", Detail: detail, Fix: fix}
}

func checkUserNS() Check {
	if err := userns.Check(reexec.Command("probe")); err != nil {
		c := Check{Name: "userns", Status: "fail", Detail: err.Error()}
		if h, isHinted := err.(interface{ Hint() string }); isHinted {
			c.Fix = h.Hint()
		}
		return c
	}
	return ok("userns", "unprivileged user namespaces work")
}

func checkSubIDs(name, file string, h host.Host, flag string) Check {
	rs, err := userns.SubIDs(file, h.Name, h.UID)
	if err != nil {
		return warn(name, err.Error(), "")
	}
	if len(rs) == 0 {
		return warn(name, fmt.Sprintf("no range for %s in %s: only your own id is mapped (files of other owners show as nobody)", h.Name, file),
			fmt.Sprintf("sudo usermod %s 100000-165535 %s", flag, h.Name))
	}
	n := 0
	for _, r := range rs {
		n += r.Count
	}
	own := h.UID
	if name == "subgid" {
		own = h.GID
	}
	overlaps, err := userns.Overlaps(file, h.Name, h.UID, own)
	if err != nil {
		return warn(name, err.Error(), "")
	}
	var self, others []string
	for _, o := range overlaps {
		if o.Self {
			self = append(self, o.String())
		} else {
			others = append(others, o.String())
		}
	}
	fix := "edit " + file + " (as root) so that ranges do not overlap, e.g. sudo usermod " + flag + " 100000-165535 " + h.Name + " after removing the colliding line"
	if len(self) > 0 {
		return Check{Name: name, Status: "fail", Detail: strings.Join(self, "; ") + ": the kernel refuses such a map", Fix: fix}
	}
	if len(others) > 0 {
		return warn(name, strings.Join(others, "; ")+": those users' processes share these ids with your sandboxes", fix)
	}
	return ok(name, fmt.Sprintf("%d ids for %s in %s", n, h.Name, file))
}

func checkHelper(name string) Check {
	p, err := exec.LookPath(name)
	if err != nil {
		return warn(name, name+" not found: only your own id can be mapped", "sudo apt-get install uidmap  # or: dnf install shadow-utils")
	}
	fi, err := os.Stat(p)
	if err != nil {
		return warn(name, err.Error(), "")
	}
	if fi.Mode()&os.ModeSetuid != 0 {
		return ok(name, p+" is setuid root")
	}
	if sz, err := unix.Getxattr(p, "security.capability", nil); err == nil && sz > 0 {
		return ok(name, p+" has file capabilities")
	}
	return warn(name, p+" is neither setuid nor has file capabilities", fmt.Sprintf("sudo chmod u+s %s  # or: sudo setcap cap_set%sid+ep %s", p, map[bool]string{true: "u", false: "g"}[name == "newuidmap"], p))
}

func checkOverlay() Check {
	dir, err := os.MkdirTemp("", "sandbox-doctor-")
	if err != nil {
		return warn("overlayfs", err.Error(), "")
	}
	defer os.RemoveAll(dir)
	cmd := reexec.Command("probe-overlay", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return warn("overlayfs", "kernel overlayfs in a user namespace failed: "+strings.TrimSpace(string(out)+" "+err.Error()),
			"needs Linux 5.11 or newer; images will use fuse-overlayfs instead")
	}
	return ok("overlayfs", "kernel overlayfs works in a user namespace (userxattr)")
}

// probeOverlay is the "probe-overlay" role: args is the directory to try
// the mount in.
func probeOverlay(args []string) int {
	if len(args) != 1 {
		return 2
	}
	if err := mounts.ProbeOverlay(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func checkFuse() Check {
	p, err := exec.LookPath("fuse-overlayfs")
	if err != nil {
		return warn("fuse", "fuse-overlayfs not found (the fallback for image layers)", "sudo apt-get install fuse-overlayfs")
	}
	if err := openRW("/dev/fuse"); err != nil {
		return warn("fuse", fmt.Sprintf("%s found, but /dev/fuse cannot be opened: %v", p, err), "sudo chmod 666 /dev/fuse  # desktops ship it 0666")
	}
	return ok("fuse", p+" and /dev/fuse usable")
}

func checkNetHelpers() Check {
	var found []string
	for _, n := range []string{"pasta", "slirp4netns"} {
		if p, err := exec.LookPath(n); err == nil {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return warn("network", "neither pasta nor slirp4netns found: only network mode none works", "sudo apt-get install passt slirp4netns")
	}
	if err := openRW("/dev/net/tun"); err != nil {
		return warn("network", fmt.Sprintf("%s found, but /dev/net/tun cannot be opened: %v", strings.Join(found, ", "), err), slirp.TunFix)
	}
	return ok("network", strings.Join(found, ", ")+" and /dev/net/tun usable; mode slirp uses "+filepath.Base(found[0]))
}

func checkCgroup() Check {
	d, err := cgroup.Detect()
	switch {
	case err != nil:
		return warn("cgroup", "cannot read cgroup v2 delegation: "+err.Error(), "")
	case d.Mount == "":
		return warn("cgroup", "no cgroup v2 hierarchy: resource limits are unavailable", "boot with systemd.unified_cgroup_hierarchy=1")
	case !d.Has("memory", "pids", "cpu"):
		return warn("cgroup", fmt.Sprintf("cgroup v2 at %s offers only [%s]: memory, cpu and pids are not delegated (a hybrid host keeps them on cgroup v1)", d.Dir, strings.Join(d.Controllers, " ")),
			"on a systemd host: boot with systemd.unified_cgroup_hierarchy=1 and add Delegate=cpu memory pids to a drop-in for user@.service")
	case !d.Writable:
		return warn("cgroup", fmt.Sprintf("%s has [%s] but is not writable by you", d.Dir, strings.Join(d.Controllers, " ")),
			"run from a delegated scope: systemd-run --user --scope -p Delegate=yes sandbox ...")
	}
	return ok("cgroup", fmt.Sprintf("delegated at %s: %s", d.Dir, strings.Join(d.Controllers, " ")))
}

func checkLandlock() Check {
	abi, err := landlock.ABI()
	if err != nil {
		return warn("landlock", "Landlock unavailable ("+err.Error()+"): sandboxes run without it, confined by their mounts and the seccomp filter only", "enable CONFIG_SECURITY_LANDLOCK and add landlock to the lsm= kernel parameter")
	}
	detail := fmt.Sprintf("Landlock ABI %d: payloads write only beneath the sandbox's writable mounts", abi)
	if abi >= 4 {
		detail += "; in network mode proxy they connect over TCP only to the proxy"
	} else {
		detail += "; TCP connections are not restricted (needs ABI 4)"
	}
	return ok("landlock", detail)
}

func checkSeccomp() Check {
	if err := seccomp.Available(); err != nil {
		return Check{Name: "seccomp", Status: "fail", Detail: "seccomp filters unavailable: " + err.Error() + "; the default profile needs them", Fix: "enable CONFIG_SECCOMP_FILTER, or set [security] seccomp = \"off\" in the profile"}
	}
	denied := seccomp.Denied(seccomp.Policy(seccomp.Options{}))
	return ok("seccomp", "the default filter ([security] seccomp = \"default\") denies "+strings.Join(denied, ", "))
}

func openRW(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// checkImages says how image layers will be stacked and owned.
func checkImages(overlay, fuse Check, h host.Host) Check {
	store := filepath.Join(h.DataDir, "images")
	owners := "files keep their owners (unpacked with your subordinate ids)"
	if m, err := userns.NewMapping(h.Name, h.UID, h.GID); err != nil || m.Degraded != "" {
		owners = "degraded: every file of an image belongs to root inside (no subordinate ids)"
	}
	forced := os.Getenv("SANDBOX_OVERLAY")
	switch {
	case forced == "fuse" && fuse.Status != "ok":
		return warn("images", "SANDBOX_OVERLAY=fuse, but "+fuse.Detail, fuse.Fix)
	case forced == "fuse" || (overlay.Status != "ok" && fuse.Status == "ok"):
		return ok("images", "layers stack with fuse-overlayfs; "+owners+"; store "+store)
	case overlay.Status == "ok":
		return ok("images", "layers stack with kernel overlayfs; "+owners+"; store "+store)
	}
	return warn("images", "neither kernel overlayfs nor fuse-overlayfs works here: images cannot run (the host base can)", fuse.Fix)
}

// checkCDI lists the CDI devices (`--device vendor/class=name`) present.
func checkCDI() Check {
	found, problems := devices.CDIDevices()
	dirs := strings.Join(devices.CDISpecDirs(), ", ")
	if len(problems) > 0 {
		return warn("cdi", fmt.Sprintf("CDI specs in %s with errors: %s; devices: %s", dirs, strings.Join(problems, "; "), orNone(found)),
			"fix or remove the spec named (for NVIDIA: sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml)")
	}
	return ok("cdi", fmt.Sprintf("CDI devices in %s: %s", dirs, orNone(found)))
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
