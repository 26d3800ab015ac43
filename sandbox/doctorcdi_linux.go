package sandbox

import (
	"fmt"
	"strings"

	"sandbox/devices"
)

// Doctor's check of the CDI devices (package devices reads the specs).

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
