package profiles

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// RlimitNames are the keys [limits.rlimits] accepts, as in ulimit and
// systemd's Limit*= settings.
var RlimitNames = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "sigpending", "stack"}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1000, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1000 * 1000, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1000 * 1000 * 1000 * 1000, "tib": 1 << 40,
}

// ParseSize parses a byte size such as "2GiB", "512M", "1.5G" or "0".
// K, M, G and T alone are binary (as in podman's --memory); KB, MB, ... are
// decimal.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || v < 0 || v*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 2GiB", s)
	}
	return int64(v * float64(mult)), nil
}

// validate checks the [limits] table; bad is validate's reporter.
func (l Limits) validate(bad func(path []string, hint, format string, args ...any)) {
	at := func(key string) []string { return []string{"limits", key} }
	if l.CPUs < 0 || l.CPUs > 1024 {
		bad(at("cpus"), "write the number of CPUs, e.g. cpus = 1.5", "limits.cpus %v is out of range", l.CPUs)
	}
	for key, v := range map[string]int{"cpu_weight": l.CPUWeight, "io_weight": l.IOWeight} {
		if v < 0 || v > 10000 {
			bad(at(key), "the kernel takes 1 to 10000 (100 is the default share)", "limits.%s %d is out of range", key, v)
		}
	}
	if l.Pids < 0 {
		bad(at("pids"), "write a positive number of processes, e.g. pids = 512", "limits.pids %d is negative", l.Pids)
	}
	names := make([]string, 0, len(l.Rlimits))
	for name := range l.Rlimits {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		known := false
		for _, n := range RlimitNames {
			known = known || n == name
		}
		if !known {
			hint := "known: " + strings.Join(RlimitNames, ", ")
			if c := closest(name, RlimitNames); c != "" {
				hint = fmt.Sprintf("did you mean %q?", c)
			}
			bad([]string{"limits", "rlimits", name}, hint, "limits.rlimits: unknown resource %q", name)
		} else if v := l.Rlimits[name]; v < -1 {
			bad([]string{"limits", "rlimits", name}, "use -1 for unlimited", "limits.rlimits.%s %d is negative", name, v)
		}
	}
}
