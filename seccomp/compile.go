package seccomp

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// Offsets into struct seccomp_data (linux/seccomp.h). The argument words
// are 64 bits; both supported architectures are little-endian, so an
// argument's low word comes first.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

const (
	retAllow = 0x7fff0000 // SECCOMP_RET_ALLOW
	retErrno = 0x00050000 // SECCOMP_RET_ERRNO | errno
	retKill  = 0x80000000 // SECCOMP_RET_KILL_PROCESS
	retNotif = 0x7fc00000 // SECCOMP_RET_USER_NOTIF
	errEPERM = 1
	errENOSY = 38
)

// Arch is what the filter checks a call's architecture against.
type Arch struct {
	// Audit is the AUDIT_ARCH_* value of the native system-call ABI.
	Audit uint32
	// X32 is the bit that marks an x32 call on x86_64 (0 elsewhere). x32
	// shares the x86_64 audit arch with numbers offset by this bit, so a
	// denylist keyed on x86_64 numbers would miss them: they all fail
	// with ENOSYS, as on a kernel built without x32.
	X32 uint32
	// Numbers maps the table's syscall names to this ABI's numbers.
	Numbers map[string]uint32
}

// Compile turns rules into a seccomp BPF program for arch. Calls of
// another architecture (a 32-bit compat binary: its numbers differ, so the
// table cannot apply) kill the process; calls no rule matches are allowed.
func Compile(rules []Rule, arch Arch) ([]bpf.RawInstruction, error) {
	return compile(rules, arch, false)
}

// CompileNotify is Compile with the calls that Deny matches sent to the
// filter's listener (see Serve) rather than failed in the kernel.
func CompileNotify(rules []Rule, arch Arch) ([]bpf.RawInstruction, error) {
	return compile(rules, arch, true)
}

func compile(rules []Rule, arch Arch, notify bool) ([]bpf.RawInstruction, error) {
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch.Audit, SkipTrue: 1},
		bpf.RetConstant{Val: retKill},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if arch.X32 != 0 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: arch.X32, SkipFalse: 1},
			bpf.RetConstant{Val: retErrno | errENOSY})
	}
	// One block per syscall: "nr != N: skip the block", then its rules,
	// each "a condition fails: skip to the next rule; else return".
	var order []string
	bySyscall := map[string][]Rule{}
	for _, r := range rules {
		if _, ok := arch.Numbers[r.Syscall]; !ok {
			return nil, fmt.Errorf("compiling the seccomp filter: no syscall number for %q", r.Syscall)
		}
		if bySyscall[r.Syscall] == nil {
			order = append(order, r.Syscall)
		}
		bySyscall[r.Syscall] = append(bySyscall[r.Syscall], r)
	}
	for _, name := range order {
		var block []bpf.Instruction
		for _, r := range bySyscall[name] {
			block = append(block, compileRule(r, notify)...)
		}
		// The block ends in a return: a call of this syscall that no rule
		// matched is allowed, and no later block needs the number again.
		block = append(block, bpf.RetConstant{Val: retAllow})
		if len(block) > 255 {
			return nil, fmt.Errorf("compiling the seccomp filter: the rules for %s need %d instructions, more than a jump reaches", name, len(block))
		}
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch.Numbers[name], SkipFalse: uint8(len(block))})
		prog = append(prog, block...)
	}
	prog = append(prog, bpf.RetConstant{Val: retAllow})
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assembling the seccomp filter: %w", err)
	}
	return raw, nil
}

// compileRule is the rule's conditions, each a load of the argument's low
// word and a jump past the rule when it does not hold, then its return.
func compileRule(r Rule, notify bool) []bpf.Instruction {
	ret := bpf.RetConstant{Val: retErrno | errEPERM}
	if notify {
		ret.Val = retNotif
	}
	if r.Action == NoSys {
		ret.Val = retErrno | errENOSY
	}
	var out []bpf.Instruction
	for i, c := range r.When {
		// Instructions after this condition's jump: two per remaining
		// condition, then the return.
		rest := uint8(2*(len(r.When)-i-1) + 1)
		out = append(out, bpf.LoadAbsolute{Off: uint32(offArgs + 8*c.Arg), Size: 4})
		switch c.Op {
		case BitsSet:
			out = append(out, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: c.Value, SkipFalse: rest})
		case Equal:
			out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.Value, SkipFalse: rest})
		case NotEqual:
			out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.Value, SkipTrue: rest})
		}
	}
	return append(out, ret)
}
