// Package host describes the invoking user and the machine a sandbox is
// started on: ids, name, home, environment, our data directory and the
// host's top-level directory entries (which a host-based root mirrors).
// It is read once per command, before anything else is resolved.
package host

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"sandbox/mounts"
)

// Host is what a run needs to know about the invoking user and machine.
type Host struct {
	UID, GID int
	Name     string // user name
	Home     string // the user's home directory on the host
	Environ  []string
	DataDir  string         // $XDG_DATA_HOME/sandbox
	Root     []mounts.Entry // the host's top-level directory entries
}

// Current reads Host from the running process and machine.
func Current() (Host, error) {
	h := Host{UID: os.Getuid(), GID: os.Getgid(), Environ: os.Environ()}
	if u, err := user.LookupId(strconv.Itoa(h.UID)); err == nil {
		h.Name, h.Home = u.Username, u.HomeDir
	} else {
		h.Name = strconv.Itoa(h.UID)
	}
	if home := os.Getenv("HOME"); home != "" {
		h.Home = home
	}
	if h.Home == "" {
		return h, fmt.Errorf("finding your home directory: $HOME is unset and uid %d has no passwd entry", h.UID)
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		data = filepath.Join(h.Home, ".local", "share")
	}
	h.DataDir = filepath.Join(data, "sandbox")
	entries, err := os.ReadDir("/")
	if err != nil {
		return h, err
	}
	for _, e := range entries {
		me := mounts.Entry{Name: e.Name(), Dir: e.IsDir()}
		if e.Type()&os.ModeSymlink != 0 {
			me.LinkDest, _ = os.Readlink("/" + e.Name())
		}
		h.Root = append(h.Root, me)
	}
	return h, nil
}

// Expand expands a leading ~ to the user's home and $VARS from the user's
// environment: a profile's host paths as the host sees them.
func (h Host) Expand(s string) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = h.Home + strings.TrimPrefix(s, "~")
	}
	return os.Expand(s, func(k string) string {
		if k == "HOME" {
			return h.Home
		}
		return Lookup(h.Environ, k)
	})
}

// Lookup is the value of key in env, the last one winning as in exec;
// "" when unset.
func Lookup(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v
		}
	}
	return ""
}
