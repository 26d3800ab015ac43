package userns

import (
	"strconv"
	"strings"
)

// IDMap maps Size ids starting at ContainerID inside a namespace onto ids
// starting at HostID in the parent namespace: one line of /proc/PID/uid_map.
type IDMap struct {
	ContainerID int `json:"container_id"`
	HostID      int `json:"host_id"`
	Size        int `json:"size"`
}

// Outer is the map of the sandbox's outer namespace: 0 is the invoking
// user's own id, so files it creates belong to the user on the host, and
// 1, 2, ... run through the user's subordinate ranges in order.
func Outer(own int, sub []Range) []IDMap {
	maps := []IDMap{{ContainerID: 0, HostID: own, Size: 1}}
	next := 1
	for _, r := range sub {
		maps = append(maps, IDMap{ContainerID: next, HostID: r.Start, Size: r.Count})
		next += r.Count
	}
	return maps
}

// Total is the number of ids a map covers.
func Total(maps []IDMap) int {
	n := 0
	for _, m := range maps {
		n += m.Size
	}
	return n
}

// Identity maps ids 0..total-1 onto themselves.
func Identity(total int) []IDMap {
	return []IDMap{{ContainerID: 0, HostID: 0, Size: total}}
}

// KeepID is the layout of podman's --userns=keep-id, one namespace down from
// Outer: id inside becomes outer 0 (the user's own id on the host), and the
// other ids fill the outer ids 1..total-1 around it.
func KeepID(id, total int) []IDMap {
	maps := []IDMap{{ContainerID: id, HostID: 0, Size: 1}}
	if below := min(id, total-1); below > 0 {
		maps = append(maps, IDMap{ContainerID: 0, HostID: 1, Size: below})
	}
	if above := total - 1 - id; above > 0 {
		maps = append(maps, IDMap{ContainerID: id + 1, HostID: id + 1, Size: above})
	}
	return maps
}

// Contains reports whether id inside is mapped.
func Contains(maps []IDMap, id int) bool {
	for _, m := range maps {
		if id >= m.ContainerID && id < m.ContainerID+m.Size {
			return true
		}
	}
	return false
}

// Format renders maps the way /proc/PID/uid_map takes them.
func Format(maps []IDMap) string {
	var b strings.Builder
	for _, m := range maps {
		b.WriteString(strconv.Itoa(m.ContainerID) + " " + strconv.Itoa(m.HostID) + " " + strconv.Itoa(m.Size) + "\n")
	}
	return b.String()
}

// args renders maps as newuidmap's arguments.
func args(maps []IDMap) []string {
	var out []string
	for _, m := range maps {
		out = append(out, strconv.Itoa(m.ContainerID), strconv.Itoa(m.HostID), strconv.Itoa(m.Size))
	}
	return out
}

// Within cuts maps, a map one namespace below outer, at outer's extent
// boundaries: the kernel accepts a nested extent only when the ids it maps
// to lie inside a single extent of the parent's map.
func Within(maps, outer []IDMap) []IDMap {
	var out []IDMap
	for _, m := range maps {
		for _, o := range outer {
			lo := max(m.HostID, o.ContainerID)
			hi := min(m.HostID+m.Size, o.ContainerID+o.Size)
			if lo < hi {
				out = append(out, IDMap{ContainerID: m.ContainerID + lo - m.HostID, HostID: lo, Size: hi - lo})
			}
		}
	}
	return out
}

// Nested lays out a payload's ids over the total ids of the namespace it
// nests in: keep-id on its own id for "self", identity for "root".
func Nested(userMode string, own, total int) []IDMap {
	if userMode == "root" {
		return Identity(total)
	}
	return KeepID(own, total)
}
