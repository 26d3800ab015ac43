package sandbox

import (
	"time"

	"sandbox/cgroup"
	"sandbox/confine"
	"sandbox/proxy"
)

// ExitTimeout is the exit status of a run ended by its timeout, as
// timeout(1) has it.
const ExitTimeout = 124

// Result is how a run ended.
type Result struct {
	Code     int           `json:"exit_code"`
	Duration time.Duration `json:"-"`
	TimedOut bool          `json:"timed_out"`
	// OOMKilled: the kernel killed a process for exceeding memory.max.
	OOMKilled bool          `json:"oom_killed"`
	Stats     *cgroup.Stats `json:"cgroup,omitempty"`
	// NetworkBackend is the slirp helper used, if any.
	NetworkBackend string `json:"network_backend,omitempty"`
	// NetworkDenied is what the proxy denied, in network mode proxy.
	NetworkDenied []proxy.Denial `json:"network_denied,omitempty"`
	// NetworkLookups are the names looked up in network mode none.
	NetworkLookups []string `json:"network_lookups,omitempty"`
	// Security is the kernel confinement the payload ran under.
	Security *confine.SecurityReport `json:"security,omitempty"`
	// SyscallsDenied counts the system calls the seccomp filter denied,
	// by name.
	SyscallsDenied map[string]int `json:"syscalls_denied,omitempty"`
}

// securityReport is the kernel confinement spec's payload runs under, as
// the run's summary shows it.
func securityReport(spec *Spec) *confine.SecurityReport {
	if spec == nil {
		return nil
	}
	user := "self"
	if spec.Process.UID == 0 {
		user = "root"
	}
	sec := confine.Security(spec.Security, user, spec.Network)
	return &sec
}

// finish sets how the run ended: code (ExitTimeout if the timeout ended
// it), how long it took, and what its cgroup counted.
func (res *Result) finish(code int, d time.Duration, cg *cgroup.Manager) {
	res.Code, res.Duration = code, d
	if cg != nil {
		st := cg.Stats()
		res.Stats = &st
		res.OOMKilled = st.OOMKills > 0
	}
	if res.TimedOut {
		res.Code = ExitTimeout
	}
}
