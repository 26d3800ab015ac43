package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A detached run whose supervisor is SIGKILLed leaves no cgroup: the next
// look (ps) removes the leaf that the dead supervisor could not.
func TestCgroupVMDetachedSupervisorKilled(t *testing.T) {
	p := requireVM(t)
	p.write(t, "sandbox.toml", "[limits]\nmemory = \"256MiB\"\n")
	n := strconv.Itoa(900000 + os.Getpid())
	p.detach(t, "--", "sh", "-c", "exec sleep $(("+n+"+1))")
	marker := "sleep " + strconv.Itoa(900000+os.Getpid()+1)
	poll(t, "the payload", func() bool { return len(processesWith(marker)) == 1 })
	runs := p.ps(t)
	if len(runs) != 1 || runs[0].Cgroup == "" {
		t.Fatalf("ps = %+v, want one run with a cgroup", runs)
	}
	if _, err := os.Stat(runs[0].Cgroup); err != nil {
		t.Fatalf("the run's cgroup: %v", err)
	}
	// Without pivot_root (this VM's initramfs root) exec refuses uid 0,
	// as run does: root could leave the chroot.
	if out, errOut, code := p.run(t, "exec", "-u", "root", runs[0].ID, "--", "id", "-u"); code != 125 || !strings.Contains(errOut, "refused") {
		t.Errorf("exec -u root without pivot_root: code %d, stdout %q, stderr %q; want 125", code, out, errOut)
	}
	if err := syscall.Kill(runs[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, "the payload to die", func() bool { return len(processesWith(marker)) == 0 })
	p.ps(t)
	if _, err := os.Stat(runs[0].Cgroup); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run's cgroup %s is left: %v", runs[0].Cgroup, err)
	}
}
