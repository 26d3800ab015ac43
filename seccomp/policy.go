// Package seccomp holds the sandbox's default system-call policy as data (a
// table of syscall, condition and action) and compiles it to the classic
// BPF program the kernel runs on every system call of the payload.
//
// The policy is a denylist on top of "allow": it closes the kernel surface
// a build or test never needs and that container escapes have used (key
// management, io_uring, bpf, new user namespaces, the new mount API,
// terminal injection), and keeps everything else, ptrace included.
package seccomp

import (
	"fmt"
	"slices"
	"sort"
)

// Action is what the filter does with a matching call.
type Action int

const (
	// Deny fails the call with EPERM, as if the payload lacked the privilege.
	Deny Action = iota
	// NoSys fails the call with ENOSYS, as if the kernel lacked it, so that
	// libc falls back to an older call the filter can inspect (clone3).
	NoSys
)

// Op compares one argument. Only the low 32 bits of an argument are
// compared, on purpose: every argument the table inspects is an int or
// unsigned int to the kernel (ioctl's cmd, personality's persona) or holds
// its flags in the low word (clone, unshare), and the kernel ignores the
// high word of an int. A filter that compared all 64 bits would let
// TIOCSTI|1<<32 through while the kernel runs TIOCSTI (CVE-2019-10063).
type Op int

const (
	// BitsSet holds when arg & Value != 0.
	BitsSet Op = iota
	// Equal holds when arg == Value.
	Equal
	// NotEqual holds when arg != Value.
	NotEqual
)

// Cond is one condition on an argument of the call.
type Cond struct {
	Arg   int // 0-5
	Op    Op
	Value uint32
}

// Rule says: a call to Syscall for which every condition in When holds
// (no conditions: every call) gets Action.
type Rule struct {
	Syscall string
	When    []Cond
	Action  Action
	// Group names the rule for allow_syscalls and for `profile show`.
	Group string
}

// Options select the variant of the default policy a run gets.
type Options struct {
	// Root is user = "root": the payload is uid 0 of its own user and
	// mount namespace and may mount (tmpfs, bind) there.
	Root bool
	// NestedUserns lets the payload create user namespaces (podman, bwrap).
	NestedUserns bool
	// Allow are syscall names (or group names) the profile takes out of
	// the denylist.
	Allow []string
	// Notify sends denied calls (those answered EPERM) to a supervisor
	// through the filter's listener (SECCOMP_RET_USER_NOTIF), which counts
	// and fails them (Serve), instead of failing them in the kernel.
	Notify bool `json:"notify,omitempty"`
}

const (
	cloneNewUser     = 0x10000000 // CLONE_NEWUSER
	tiocsti          = 0x5412
	tioclinux        = 0x541c
	personalityQuery = 0xffffffff // personality(0xffffffff) only reads the persona
	// WeakeningPersona are the persona flags that weaken address-space
	// layout randomisation or NX: ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO,
	// ADDR_COMPAT_LAYOUT, READ_IMPLIES_EXEC.
	WeakeningPersona = 0x0040000 | 0x0100000 | 0x0200000 | 0x0400000
)

// table is the default policy. Groups are what the guide and `profile
// show` list; every name must be known to syscallNumbers.
var table = []Rule{
	{Syscall: "add_key", Group: "keyring"},
	{Syscall: "keyctl", Group: "keyring"},
	{Syscall: "request_key", Group: "keyring"},
	{Syscall: "io_uring_setup", Group: "io_uring"},
	{Syscall: "io_uring_enter", Group: "io_uring"},
	{Syscall: "io_uring_register", Group: "io_uring"},
	{Syscall: "bpf", Group: "bpf"},
	{Syscall: "perf_event_open", Group: "perf_event_open"},
	{Syscall: "userfaultfd", Group: "userfaultfd"},
	{Syscall: "kexec_load", Group: "kexec"},
	{Syscall: "kexec_file_load", Group: "kexec"},
	{Syscall: "init_module", Group: "modules"},
	{Syscall: "finit_module", Group: "modules"},
	{Syscall: "delete_module", Group: "modules"},
	{Syscall: "open_by_handle_at", Group: "open_by_handle_at"},
	{Syscall: "fsopen", Group: "mount_api"},
	{Syscall: "fsconfig", Group: "mount_api"},
	{Syscall: "fsmount", Group: "mount_api"},
	{Syscall: "fspick", Group: "mount_api"},
	{Syscall: "open_tree", Group: "mount_api"},
	{Syscall: "move_mount", Group: "mount_api"},
	{Syscall: "mount_setattr", Group: "mount_api"},
	{Syscall: "personality", Group: "personality", When: []Cond{
		{Arg: 0, Op: NotEqual, Value: personalityQuery},
		{Arg: 0, Op: BitsSet, Value: WeakeningPersona},
	}},
	{Syscall: "ioctl", Group: "tiocsti", When: []Cond{{Arg: 1, Op: Equal, Value: tiocsti}}},
	{Syscall: "ioctl", Group: "tioclinux", When: []Cond{{Arg: 1, Op: Equal, Value: tioclinux}}},
}

// selfOnly are denied for user = "self" only, without nested_userns: a
// payload that is not root inside has no use for them, root may mount in
// its own namespace, and a nested one mounts in the namespaces it makes.
var selfOnly = []Rule{
	{Syscall: "mount", Group: "mount"},
	{Syscall: "umount2", Group: "mount"},
	{Syscall: "pivot_root", Group: "mount"},
}

// userns denies new user namespaces unless nested_userns is set. clone3
// passes its flags in memory a filter cannot read, so it fails with ENOSYS
// and libc falls back to clone, whose flags it can (as flatpak does).
var userns = []Rule{
	{Syscall: "clone", Group: "userns", When: []Cond{{Arg: 0, Op: BitsSet, Value: cloneNewUser}}},
	{Syscall: "unshare", Group: "userns", When: []Cond{{Arg: 0, Op: BitsSet, Value: cloneNewUser}}},
	{Syscall: "clone3", Group: "userns", Action: NoSys},
}

// Policy returns the rules of the default policy for opts, in table order.
func Policy(opts Options) []Rule {
	rules := slices.Clone(table)
	// A payload that nests user namespaces mounts in them (bwrap, podman).
	if !opts.Root && !opts.NestedUserns {
		rules = append(rules, selfOnly...)
	}
	if !opts.NestedUserns {
		rules = append(rules, userns...)
	}
	return slices.DeleteFunc(rules, func(r Rule) bool {
		return slices.Contains(opts.Allow, r.Syscall) || slices.Contains(opts.Allow, r.Group)
	})
}

// Allowable are the names allow_syscalls accepts: every syscall and group
// the default policy denies, except those nested_userns governs.
func Allowable() []string {
	seen := map[string]bool{}
	for _, r := range append(slices.Clone(table), selfOnly...) {
		seen[r.Syscall], seen[r.Group] = true, true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckAllow returns an error naming the first entry of allow that the
// default policy does not deny.
func CheckAllow(allow []string) error {
	known := Allowable()
	for _, a := range allow {
		if !slices.Contains(known, a) {
			return fmt.Errorf("%q is not denied by the default filter", a)
		}
	}
	return nil
}

// Denied lists the groups the rules deny, each once, in table order: what
// `profile show` and `doctor` print.
func Denied(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		if !slices.Contains(out, r.Group) {
			out = append(out, r.Group)
		}
	}
	return out
}
