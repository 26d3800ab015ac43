package userns

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestAmbientCapsAreTheKernels(t *testing.T) {
	caps, err := AmbientCaps()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	last, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if len(caps) != last+1 || caps[0] != 0 || caps[len(caps)-1] != uintptr(last) {
		t.Fatalf("AmbientCaps() = %v, want 0..%d", caps, last)
	}
	if caps[unix.CAP_SETUID] != unix.CAP_SETUID || caps[unix.CAP_SYS_ADMIN] != unix.CAP_SYS_ADMIN {
		t.Errorf("AmbientCaps() lacks CAP_SETUID or CAP_SYS_ADMIN: %v", caps)
	}
}
