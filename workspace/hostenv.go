package workspace

import (
	"os"
	"strings"

	"sandbox/host"
)

// expandHost expands ~ and $VARS in a profile path as the host sees it
// (the same as package sandbox's, which resolves [[mount]] targets with
// it: the mountpoints a run makes must be named alike).
func expandHost(s string, h host.Host) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = h.Home + strings.TrimPrefix(s, "~")
	}
	return os.Expand(s, func(k string) string {
		if k == "HOME" {
			return h.Home
		}
		return lookupEnv(h.Environ, k)
	})
}

// lookupEnv is the last value of key in env, "" when unset.
func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v
		}
	}
	return ""
}

// reversed is s in reverse order: the store lists layers bottom first,
// overlayfs and the differ want the top first.
func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
