package mounts

import (
	"path"
	"testing"
)

func TestHostPlan(t *testing.T) {
	p := Host(HostOptions{
		Root: []Entry{
			{Name: "usr", Dir: true}, {Name: "bin", LinkDest: "usr/bin"}, {Name: "etc", Dir: true},
			{Name: "home", Dir: true}, {Name: "proc", Dir: true}, {Name: "tmp", Dir: true},
			{Name: "run", Dir: true}, {Name: "root", Dir: true}, {Name: "vmlinuz", Dir: false},
		},
		Home: "/home/alice", HomeDir: "/data/homes/p", Project: "/home/alice/src/p",
		Extra: Plan{{Kind: Bind, Source: "/cache", Target: "/home/alice/.cache"}, {Kind: Tmpfs, Target: "/etc"}},
	})
	index := map[string]int{}
	for i, op := range p {
		if _, dup := index[op.Target]; dup {
			t.Errorf("two ops on %s", op.Target)
		}
		index[op.Target] = i
	}
	must := func(target string, kind Kind) Op {
		t.Helper()
		i, ok := index[target]
		if !ok {
			t.Fatalf("no op on %s in %+v", target, p)
		}
		if p[i].Kind != kind {
			t.Errorf("op on %s is %s, want %s", target, p[i].Kind, kind)
		}
		return p[i]
	}
	if op := must("/usr", Bind); !op.ReadOnly {
		t.Errorf("/usr is not read-only")
	}
	if op := must("/bin", Symlink); op.Source != "usr/bin" {
		t.Errorf("/bin -> %s, want usr/bin", op.Source)
	}
	must("/etc", Tmpfs) // the profile's mount replaces the base one
	must("/tmp", Tmpfs)
	must("/run", Tmpfs)
	must("/proc", Proc)
	must("/dev/pts", Devpts)
	must("/proc/kcore", Mask)
	must("/proc/sys", RO)
	if op := must("/home/alice/src/p", Bind); op.ReadOnly {
		t.Errorf("the project is read-only")
	}
	if op := must("/home/alice", Bind); op.Source != "/data/homes/p" {
		t.Errorf("home source = %s", op.Source)
	}
	for _, hidden := range []string{"/home", "/root", "/vmlinuz"} {
		if _, ok := index[hidden]; ok {
			t.Errorf("%s of the host is visible", hidden)
		}
	}
	// Parents before children.
	for _, pair := range [][2]string{{"/home/alice", "/home/alice/src/p"}, {"/home/alice", "/home/alice/.cache"}, {"/proc", "/proc/kcore"}, {"/dev", "/dev/pts"}, {"/tmp", "/dev/null"}} {
		if pair[0] != "/tmp" && index[pair[0]] > index[pair[1]] {
			t.Errorf("%s comes after %s", pair[0], pair[1])
		}
	}
}

func TestHostPlanEphemeralHome(t *testing.T) {
	p := Host(HostOptions{Home: "/home/alice", Project: "/srv/p"})
	for _, op := range p {
		if op.Target == "/home/alice" && op.Kind != Tmpfs {
			t.Errorf("ephemeral home is %s, want tmpfs", op.Kind)
		}
	}
}

func TestAttrNames(t *testing.T) {
	e := &Error{Op: "mount_setattr", Source: "/usr", Target: "/usr", Flags: 0x1 | 0x2, Err: errTest{}}
	if got, want := e.Error(), "mount_setattr /usr on /usr (MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID): boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

type errTest struct{}

func (errTest) Error() string { return "boom" }

func TestPlanWith(t *testing.T) {
	base := Image(ImageOptions{Layers: []string{"/l"}, Project: "/p"})
	p := base.With(Op{Kind: Socket, Source: "/run/user/1/agent", Target: "/run/sandbox/ssh-agent.sock"}, Op{Kind: Device, Source: "/dev/kvm", Target: "/dev/kvm"})
	if len(p) != len(base)+2 || p[0].Kind != Overlay {
		t.Fatalf("With: %d ops, first %s; want %d, overlay first", len(p), p[0].Kind, len(base)+2)
	}
	seen := map[string]bool{}
	for _, op := range p {
		if parent := path.Dir(op.Target); op.Target != "/" && (parent == "/dev" || parent == "/run") && !seen[parent] {
			t.Errorf("%s comes before its parent %s", op.Target, parent)
		}
		seen[op.Target] = true
	}
	if len(base) > 0 && base[len(base)-1].Kind == Device {
		t.Error("With changed the plan it was called on")
	}
}
