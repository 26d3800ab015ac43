// Package cgroup finds the cgroup v2 subtree a sandbox may use: where the
// unified hierarchy is mounted, which cgroup this process is in, and which
// controllers are delegated to it.
package cgroup

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// ErrNoUnified means the process has no cgroup v2 ("0::") entry.
var ErrNoUnified = errors.New("no cgroup v2 entry in /proc/self/cgroup")

// ParseSelf returns the unified-hierarchy path from /proc/self/cgroup
// content: the "0::/PATH" line.
func ParseSelf(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", ErrNoUnified
}

// ParseMountinfo returns the mount point of the first cgroup2 filesystem
// in /proc/self/mountinfo content, or "" if there is none.
func ParseMountinfo(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) >= 5 && len(qf) >= 1 && qf[0] == "cgroup2" {
			return unescape(pf[4]), nil
		}
	}
	return "", sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			n := 0
			for _, c := range s[i+1 : i+4] {
				n = n*8 + int(c-'0')
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
