package confine

import (
	"fmt"
	"strings"

	"sandbox/landlock"
	"sandbox/profiles"
	"sandbox/seccomp"
)

// SecurityReport says what kernel confinement a payload gets: the same
// words for `profile show`, `doctor` and the summary of `run --json`.
type SecurityReport struct {
	// Seccomp is "default" or "off".
	Seccomp profiles.SeccompMode `json:"seccomp"`
	// Denied are the groups of system calls the filter denies.
	Denied []string `json:"seccomp_denied,omitempty"`
	// NestedUserns: the payload may create user namespaces.
	NestedUserns bool `json:"nested_userns"`
	// LandlockABI is the kernel's Landlock ABI; 0: none, the payload runs
	// without Landlock.
	LandlockABI int `json:"landlock_abi"`
	// Landlock says what Landlock confines.
	Landlock string `json:"landlock"`
}

// networkProxy is [network] mode proxy, whose payload may connect over
// TCP to the proxy only.
const networkProxy = "proxy"

// Security reports what a run with this [security] table, user and
// network mode gets on this kernel.
func Security(s profiles.Security, user, netMode string) SecurityReport {
	r := SecurityReport{Seccomp: s.Seccomp, NestedUserns: s.NestedUserns}
	if s.Seccomp != profiles.SeccompOff {
		r.Denied = seccomp.Denied(seccomp.Policy(seccomp.Options{Root: user == "root", NestedUserns: s.NestedUserns, Allow: s.AllowSyscalls}))
	}
	abi, err := landlock.ABI()
	switch {
	case s.NestedUserns:
		r.Landlock = "not applied: nested_userns = true (Landlock forbids the mounts podman and bwrap make)"
	case err != nil:
		r.Landlock = fmt.Sprintf("not applied: %v", err)
	case netMode == networkProxy && abi >= 4:
		r.Landlock = "writes only beneath the writable mounts; TCP connect only to the proxy"
	case netMode == networkProxy:
		r.Landlock = fmt.Sprintf("writes only beneath the writable mounts; TCP connect not restricted (needs Landlock ABI 4, the kernel has %d)", abi)
	default:
		r.Landlock = "writes only beneath the writable mounts"
	}
	if err == nil && !s.NestedUserns {
		r.LandlockABI = abi
	}
	return r
}

// Lines are the report as text, one line each for seccomp and Landlock.
func (r SecurityReport) Lines() []string {
	sc := "seccomp: off (every system call reaches the kernel)"
	if r.Seccomp != profiles.SeccompOff {
		sc = "seccomp: default filter denies " + strings.Join(r.Denied, ", ")
	}
	if r.NestedUserns {
		sc += "; nested user namespaces allowed"
	}
	ll := "landlock: " + r.Landlock
	if r.LandlockABI > 0 {
		ll = fmt.Sprintf("landlock (ABI %d): %s", r.LandlockABI, r.Landlock)
	}
	return []string{sc, ll}
}
