package sandbox

import (
	"os"
	"strings"

	"sandbox/host"
)

// These small functions on environments and paths were in resolve.go,
// path.go and imagespec.go, which moved to package session (issue 12);
// the parts of sandbox that use them keep these copies.

// projectID names a project's state: readable, and unique per path (a
// name, not a secret: FNV keeps crypto's package initialisation out of
// every sandbox start).
func projectID(project string) string {
	return projectBase(project) + "-" + projectHash(project)
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v
		}
	}
	return ""
}

// expandHost expands a leading ~ to the host home and $VARS from the host
// environment.
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

// under reports whether p is one of dirs or below one.
func under(p string, dirs ...string) bool {
	for _, dir := range dirs {
		if p == dir || dir == "/" || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
