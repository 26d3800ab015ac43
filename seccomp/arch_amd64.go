package seccomp

import "golang.org/x/sys/unix"

// Native is the architecture this binary runs as.
var Native = Arch{Audit: unix.AUDIT_ARCH_X86_64, X32: 0x40000000, Numbers: numbers}
