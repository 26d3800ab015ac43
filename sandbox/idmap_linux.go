package sandbox

import (
	"syscall"

	"sandbox/userns"
)

// sysMaps are maps as exec.Cmd writes them for a new user namespace.
func sysMaps(maps []userns.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
	}
	return out
}
