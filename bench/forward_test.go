package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sandbox/internal/testenv"
)

// fakeSandbox writes a stand-in for `sandbox` that runs script whatever
// its arguments.
func fakeSandbox(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sandbox")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func shortLimits(t *testing.T) {
	old := []time.Duration{iperfLimit, serverLimit, termGrace}
	iperfLimit, serverLimit, termGrace = 20*time.Second, time.Second, time.Second
	t.Cleanup(func() { iperfLimit, serverLimit, termGrace = old[0], old[1], old[2] })
}

// A server that serves its client but does not end (as the sandboxed
// `iperf3 -s -1` once did) is stopped and reported, not waited for.
func TestIntoSandboxStopsAServerThatDoesNotEnd(t *testing.T) {
	testenv.Require(t, testenv.IsolatedNet, testenv.Tool("iperf3"))
	shortLimits(t)
	sandbox := fakeSandbox(t, "exec iperf3 -s -B 127.0.0.1 -p 15201") // no -1: it serves on
	start := time.Now()
	_, err := intoSandbox(sandbox, "unused.toml")
	if err == nil || !strings.Contains(err.Error(), "had served its client but not ended") || !strings.Contains(err.Error(), "SIGTERM to sandbox run ended it") {
		t.Fatalf("intoSandbox = %v, want the server reported as not ended and stopped by SIGTERM", err)
	}
	t.Logf("reported after %v: %v", time.Since(start), firstLine(err.Error()))
}

// A run that ignores SIGTERM, and whose server never answers, is killed
// and reported too.
func TestIntoSandboxKillsARunThatIgnoresSIGTERM(t *testing.T) {
	testenv.Require(t, testenv.IsolatedNet, testenv.Tool("iperf3"))
	shortLimits(t)
	sandbox := fakeSandbox(t, "trap '' TERM; exec sleep 1000")
	_, err := intoSandbox(sandbox, "unused.toml")
	if err == nil || !strings.Contains(err.Error(), "could not reach iperf3 inside the sandbox") || !strings.Contains(err.Error(), "SIGKILL") {
		t.Fatalf("intoSandbox = %v, want no test served and the run killed", err)
	}
	t.Logf("%v", firstLine(err.Error()))
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }
