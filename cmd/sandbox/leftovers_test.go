package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sandbox/internal/testenv"
	"sandbox/internal/testregistry"
)

// TestKilledImageRunsLeaveNoRuns kills 20 image runs with SIGKILL, which
// leaves each run's record and scratch directory (with its overlay's
// mountpoint, root/) behind; the next command must sweep them all.
func TestKilledImageRunsLeaveNoRuns(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	runs := filepath.Join(p.runtime, "sandbox", "runs")
	for i := range 20 {
		cmd := p.command("run", "--tls-verify=false", "--image", ref, "--", "sh", "-c", "echo ready; exec sleep 300")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		readAll(out).waitFor(t, 0, "ready")
		if i == 0 {
			if _, err := os.Stat(filepath.Join(runs, strconv.Itoa(cmd.Process.Pid)+".root", "root")); err != nil {
				t.Fatalf("an image run has no overlay mountpoint in its scratch directory, so this test checks nothing: %v", err)
			}
		}
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	p.output(t, "ps")
	if left, _ := os.ReadDir(runs); len(left) != 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("after 20 killed image runs and `sandbox ps`, runs/ holds %v", names)
	}
}

// TestKilledPullLeavesNoTemporaries kills a pull while a layer is being
// downloaded or unpacked; the next pull (not prune) removes what it left.
func TestKilledPullLeavesNoTemporaries(t *testing.T) {
	testenv.Require(t, testenv.DebianImage)
	p := newProject(t)
	reg := testregistry.Start(t)
	ref := reg.Push(t, os.Getenv("SANDBOX_TEST_DEBIAN_OCI"), "minbase", "debian:minbase")
	tmp := filepath.Join(p.home, ".local/share/sandbox/images/tmp")
	cmd := p.command("pull", "--tls-verify=false", "-q", ref)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Mid-layer: a layer directory is being unpacked.
	deadline := time.Now().Add(30 * time.Second)
	for !hasLayerTemporary(tmp) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the pull never started unpacking a layer")
		}
		time.Sleep(time.Millisecond)
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if !hasLayerTemporary(tmp) {
		t.Fatal("the killed pull left nothing, so this test checks nothing")
	}
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("after a killed pull and a new one, tmp/ holds %v", names)
	}
}

func hasLayerTemporary(tmp string) bool {
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "layer-") {
			return true
		}
	}
	return false
}
