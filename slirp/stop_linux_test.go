package slirp

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStopDoesNotWaitForTheReaper: a daemonized helper that has exited is
// gone for our purposes (its ports are free) even while it waits, a
// zombie, for whoever reaps it. stop once polled kill(pid, 0), which a
// zombie answers, and so took its whole two seconds on every pasta run.
func TestStopDoesNotWaitForTheReaper(t *testing.T) {
	// Become the daemon's reaper, and do not reap it: the zombie stays.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	out, err := exec.Command("sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Wait4(pid, nil, 0, nil)
	start := time.Now()
	stop(pid)
	if took := time.Since(start); took > time.Second {
		t.Errorf("stop took %v for a helper that ended at SIGTERM: it waited for the reaper", took)
	}
	var st unix.WaitStatus
	if got, err := unix.Wait4(pid, &st, unix.WNOHANG, nil); err != nil || got != pid || !st.Signaled() || st.Signal() != unix.SIGTERM {
		t.Errorf("the helper did not end by SIGTERM: wait4 = %d, %v, %v", got, st, err)
	}
}
