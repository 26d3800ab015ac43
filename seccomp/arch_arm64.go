package seccomp

import "golang.org/x/sys/unix"

// Native is the architecture this binary runs as.
var Native = Arch{Audit: unix.AUDIT_ARCH_AARCH64, Numbers: numbers}
