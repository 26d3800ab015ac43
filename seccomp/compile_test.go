package seccomp

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
)

// call is one system call as the filter sees it (struct seccomp_data).
type call struct {
	arch uint32
	nr   uint32
	args [6]uint64
}

// run evaluates prog on c in x/net/bpf's VM. The VM loads words in network
// order where the kernel loads them natively, so the data is laid out big
// endian word by word at the kernel's offsets.
func run(t *testing.T, prog []bpf.RawInstruction, c call) uint32 {
	t.Helper()
	insns, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatal("the program does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[offNr:], c.nr)
	binary.BigEndian.PutUint32(data[offArch:], c.arch)
	for i, a := range c.args {
		binary.BigEndian.PutUint32(data[offArgs+8*i:], uint32(a))
		binary.BigEndian.PutUint32(data[offArgs+8*i+4:], uint32(a>>32))
	}
	ret, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(ret)
}

var testArch = Arch{Audit: 0xc000003e, X32: 0x40000000, Numbers: numbers}

func TestCompile(t *testing.T) {
	nr := func(name string) uint32 { return numbers[name] }
	eperm, enosys := uint32(retErrno|errEPERM), uint32(retErrno|errENOSY)
	tests := []struct {
		name string
		opts Options
		c    call
		want uint32
	}{
		{"read is allowed", Options{}, call{nr: nr("clone") + 1000}, retAllow},
		{"keyctl", Options{}, call{nr: nr("keyctl")}, eperm},
		{"io_uring_setup", Options{}, call{nr: nr("io_uring_setup")}, eperm},
		{"bpf", Options{}, call{nr: nr("bpf")}, eperm},
		{"allowed keyctl", Options{Allow: []string{"keyctl"}}, call{nr: nr("keyctl")}, retAllow},
		{"allowed group", Options{Allow: []string{"keyring"}}, call{nr: nr("add_key")}, retAllow},
		{"TIOCSTI", Options{}, call{nr: nr("ioctl"), args: [6]uint64{0, tiocsti}}, eperm},
		{"TIOCSTI with high bits (CVE-2019-10063)", Options{}, call{nr: nr("ioctl"), args: [6]uint64{0, 1<<32 | tiocsti}}, eperm},
		{"TIOCLINUX", Options{}, call{nr: nr("ioctl"), args: [6]uint64{0, 0xffffffff00000000 | tioclinux}}, eperm},
		{"TCGETS", Options{}, call{nr: nr("ioctl"), args: [6]uint64{0, 0x5401}}, retAllow},
		{"clone of a thread", Options{}, call{nr: nr("clone"), args: [6]uint64{0x3d0f00}}, retAllow},
		{"clone NEWUSER", Options{}, call{nr: nr("clone"), args: [6]uint64{cloneNewUser | 0x11}}, eperm},
		{"clone NEWUSER nested", Options{NestedUserns: true}, call{nr: nr("clone"), args: [6]uint64{cloneNewUser}}, retAllow},
		{"unshare NEWUSER", Options{}, call{nr: nr("unshare"), args: [6]uint64{cloneNewUser | 0x20000}}, eperm},
		{"unshare NEWNS", Options{}, call{nr: nr("unshare"), args: [6]uint64{0x20000}}, retAllow},
		{"clone3", Options{}, call{nr: nr("clone3")}, enosys},
		{"clone3 nested", Options{NestedUserns: true}, call{nr: nr("clone3")}, retAllow},
		{"personality query", Options{}, call{nr: nr("personality"), args: [6]uint64{0xffffffff}}, retAllow},
		{"personality linux", Options{}, call{nr: nr("personality"), args: [6]uint64{0}}, retAllow},
		{"personality no-randomize", Options{}, call{nr: nr("personality"), args: [6]uint64{0x0040000}}, eperm},
		{"personality high bits", Options{}, call{nr: nr("personality"), args: [6]uint64{1<<32 | 0x0400000}}, eperm},
		{"mount as self", Options{}, call{nr: nr("mount")}, eperm},
		{"mount as root", Options{Root: true}, call{nr: nr("mount")}, retAllow},
		{"mount nested", Options{NestedUserns: true}, call{nr: nr("pivot_root")}, retAllow},
		{"fsopen as root", Options{Root: true}, call{nr: nr("fsopen")}, eperm},
		{"x32 keyctl", Options{}, call{nr: 0x40000000 | 250}, enosys},
		{"x32 read", Options{}, call{nr: 0x40000000}, enosys},
		{"i386 compat", Options{}, call{arch: 0x40000003, nr: 1}, retKill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := Compile(Policy(tt.opts), testArch)
			if err != nil {
				t.Fatal(err)
			}
			c := tt.c
			if c.arch == 0 {
				c.arch = testArch.Audit
			}
			if got := run(t, prog, c); got != tt.want {
				t.Errorf("filter(%+v) = %#x, want %#x", c, got, tt.want)
			}
		})
	}
}

// With Notify, the calls Deny matches go to the listener; ENOSYS answers
// and allowed calls stay in the kernel.
func TestCompileNotify(t *testing.T) {
	prog, err := CompileNotify(Policy(Options{}), testArch)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		c    call
		want uint32
	}{
		{call{nr: numbers["bpf"]}, retNotif},
		{call{nr: numbers["ioctl"], args: [6]uint64{0, 1<<32 | tiocsti}}, retNotif},
		{call{nr: numbers["clone3"]}, retErrno | errENOSY},
		{call{nr: numbers["ioctl"], args: [6]uint64{0, 0x5401}}, retAllow},
	} {
		tt.c.arch = testArch.Audit
		if got := run(t, prog, tt.c); got != tt.want {
			t.Errorf("filter(%+v) = %#x, want %#x", tt.c, got, tt.want)
		}
	}
}

func TestCheckAllow(t *testing.T) {
	if err := CheckAllow([]string{"keyctl", "io_uring", "mount"}); err != nil {
		t.Errorf("CheckAllow: %v", err)
	}
	for _, bad := range []string{"read", "clone3", "userns"} {
		if err := CheckAllow([]string{bad}); err == nil {
			t.Errorf("CheckAllow(%q) = nil, want an error", bad)
		}
	}
}

func TestTableNamesKnown(t *testing.T) {
	for _, r := range append(append(append([]Rule{}, table...), selfOnly...), userns...) {
		if _, ok := numbers[r.Syscall]; !ok {
			t.Errorf("%s has no syscall number", r.Syscall)
		}
	}
}
