package cgroup

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestSystemdUserManager: a scope is asked for only where systemd-run is
// on PATH and the user manager's private socket or bus is a socket.
func TestSystemdUserManager(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "systemd-run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sock, file := t.TempDir(), t.TempDir()
	l, err := net.Listen("unix", filepath.Join(sock, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.WriteFile(filepath.Join(file, "bus"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, runtime string
		want                bool
	}{
		{"bus socket", bin, sock, true},
		{"no systemd-run", t.TempDir(), sock, false},
		{"bus not a socket", bin, file, false},
		{"no XDG_RUNTIME_DIR", bin, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			t.Setenv("XDG_RUNTIME_DIR", tt.runtime)
			if got := systemdUserManager(); got != tt.want {
				t.Errorf("systemdUserManager() with PATH=%s XDG_RUNTIME_DIR=%s = %v, want %v", tt.path, tt.runtime, got, tt.want)
			}
		})
	}
}
