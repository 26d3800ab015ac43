package cgroup

import (
	"fmt"
	"strings"
)

// MissingError says which controllers cannot be had, and why.
type MissingError struct {
	Controllers []string // the controllers the limits need but lack
	Dir         string   // the cgroup that was checked; "" without cgroup v2
	Available   []string // what Dir offers
	// Unavailable: Dir lacks the controllers; otherwise it has them but
	// is not delegated to us (not writable).
	Unavailable bool
}

func (e *MissingError) Error() string {
	switch {
	case e.Dir == "":
		return fmt.Sprintf("cannot enforce limits: no cgroup v2 hierarchy (controllers needed: %s)", strings.Join(e.Controllers, " "))
	case !e.Unavailable:
		return fmt.Sprintf("cannot enforce limits: cgroup %s is not delegated to you (controllers needed: %s)", e.Dir, strings.Join(e.Controllers, " "))
	}
	return fmt.Sprintf("cannot enforce limits: controllers %s are not delegated to %s (it offers [%s])",
		strings.Join(e.Controllers, " "), e.Dir, strings.Join(e.Available, " "))
}

// Hint names the fix.
func (e *MissingError) Hint() string {
	if e.Dir == "" || (len(e.Available) <= 1 && strings.Contains(e.Dir, "/unified")) {
		return "this host keeps cpu, memory and pids on cgroup v1 (hybrid mode): boot with systemd.unified_cgroup_hierarchy=1, or set required = false under [limits] to run without limits"
	}
	return "delegate them to your user: sudo mkdir -p /etc/systemd/system/user@.service.d && " +
		"printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && " +
		"sudo systemctl daemon-reload, then log in again; or set required = false under [limits]"
}
