package mounts

import (
	"path"
	"strconv"
	"strings"
)

// Sizes bound the tmpfs mounts a sandbox makes for itself, in bytes (0:
// the kernel's default, half the host's memory). Without a memory cgroup
// nothing else stops a sandbox pinning that much in each of them.
type Sizes struct {
	Tmp int64 // /tmp, and the profile's own tmpfs mounts
	Shm int64 // /dev/shm
	Run int64 // /run
}

// sized sets the size of the plan's /tmp, /dev/shm and /run tmpfs mounts,
// and of any other tmpfs that has none (the profile's), except /dev and
// masks, which hold nothing.
func (p Plan) sized(s Sizes) Plan {
	for i, op := range p {
		if op.Kind != Tmpfs || strings.Contains(","+op.Data, ",size=") {
			continue
		}
		size := s.Tmp
		switch path.Clean(op.Target) {
		case "/dev":
			continue
		case "/dev/shm":
			size = s.Shm
		case "/run":
			size = s.Run
		}
		if size > 0 {
			p[i].Data = strings.TrimPrefix(op.Data+",size="+strconv.FormatInt(size, 10), ",")
		}
	}
	return p
}
