package cgroup

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSelf(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		err      error
	}{
		{"0::/user.slice/user-1000.slice/session-2.scope\n", "/user.slice/user-1000.slice/session-2.scope", nil},
		{"9:name=systemd:/\n8:pids:/\n0::/\n", "/", nil},
		{"8:pids:/\n7:blkio:/\n", "", ErrNoUnified},
	} {
		got, err := ParseSelf(strings.NewReader(tt.in))
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseSelf(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	in := "22 1 0:21 / /proc rw - proc proc rw\n" +
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw\n"
	if got, _ := ParseMountinfo(strings.NewReader(in)); got != "/sys/fs/cgroup/unified" {
		t.Errorf("ParseMountinfo = %q, want /sys/fs/cgroup/unified", got)
	}
	if got, _ := ParseMountinfo(strings.NewReader("41 31 0:38 / /a\\040b rw - cgroup2 none rw\n")); got != "/a b" {
		t.Errorf("ParseMountinfo with escape = %q, want %q", got, "/a b")
	}
	if got, _ := ParseMountinfo(strings.NewReader("22 1 0:21 / /proc rw - proc proc rw\n")); got != "" {
		t.Errorf("ParseMountinfo without cgroup2 = %q, want empty", got)
	}
}

func TestDelegationHas(t *testing.T) {
	d := Delegation{Controllers: []string{"cpu", "memory", "pids"}}
	if !d.Has("memory", "pids") || d.Has("io") {
		t.Errorf("Has is wrong for %v", d.Controllers)
	}
}
