package main

import (
	"testing"
	"time"
)

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
