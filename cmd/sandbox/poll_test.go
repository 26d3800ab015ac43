package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// patience is how long a test waits for a state that an idle machine
// reaches in milliseconds to a second: a deadline only a hung run meets,
// not a loaded machine (load 20 on 2 cores made 1 and 10 s too short).
const patience = 30 * time.Second

// waitUntil polls cond until it holds, failing t with what was awaited if
// it does not within timeout: tests wait for the state they need, never
// for a fixed time.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killWhen SIGKILLs cmd (started) as soon as cond holds, polling, and says
// whether it did; false means cmd ended first. Either way cmd is waited for.
func killWhen(t *testing.T, cmd *exec.Cmd, cond func() bool) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		if cond() {
			_ = cmd.Process.Kill()
			<-done
			return true
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%v neither ended nor reached the state to kill it in within a minute", cmd.Args)
	return false
}

// globSize is the total size of the files matching pattern.
func globSize(pattern string) int64 {
	var n int64
	names, _ := filepath.Glob(pattern)
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// globCount is how many names match pattern.
func globCount(pattern string) int {
	names, _ := filepath.Glob(pattern)
	return len(names)
}
