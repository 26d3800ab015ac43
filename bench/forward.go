package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// How long the network benchmark waits before it stops a command and
// reports it: an iperf3 client's 3-second test (plus a sandbox's start),
// and a one-test server that should end as soon as its client has.
// Variables for the tests.
var (
	iperfLimit  = 60 * time.Second
	serverLimit = 20 * time.Second
	termGrace   = 5 * time.Second
)

// intoSandbox measures a client on the host against an iperf3 server
// inside a sandbox, reached through the profile's published port 15201.
// The server serves one test (-1) and ends; a run that has not ended
// serverLimit after its client is stopped (SIGTERM, then SIGKILL) and
// reported, so that the benchmark never waits for ever.
func intoSandbox(sandbox, profile string) (float64, error) {
	srv := exec.Command(sandbox, "run", "--profile", profile, "--", "iperf3", "-s", "-1", "-p", "5201")
	var log bytes.Buffer // read only once done is closed
	srv.Stdout, srv.Stderr = &log, &log
	srv.WaitDelay = time.Second
	if err := srv.Start(); err != nil {
		return 0, err
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(done) }()

	bps, err := clientThroughPort(done)
	if err != nil {
		// No test was served: the server has nothing to end on.
		how := stop(srv, done)
		return 0, fmt.Errorf("%w; %s (%v); it said:\n%s", err, how, waitErr, log.String())
	}
	select {
	case <-done:
		return bps, nil
	case <-time.After(serverLimit):
	}
	how := stop(srv, done)
	return 0, fmt.Errorf("the sandboxed iperf3 -s -1 had served its client but not ended %v later; %s; it said:\n%s", serverLimit, how, log.String())
}

// clientThroughPort runs the client until a test succeeds: the first
// attempts may come before the server listens, and the forwarder then
// resets them. It gives up after 50 attempts or once the server has ended.
func clientThroughPort(done <-chan struct{}) (float64, error) {
	var last error
	for i := 0; i < 50; i++ {
		select {
		case <-done:
			return 0, fmt.Errorf("the sandboxed iperf3 server ended before a test succeeded (last attempt: %v)", last)
		case <-time.After(100 * time.Millisecond):
		}
		bps, err := iperf([]string{"iperf3", "-c", "127.0.0.1", "-p", "15201", "-t", "3", "-J"})
		if err == nil {
			return bps, nil
		}
		last = err
	}
	return 0, fmt.Errorf("could not reach iperf3 inside the sandbox after 50 attempts: %w", last)
}

// stop ends `sandbox run` with SIGTERM, as a user's kill would, then
// SIGKILL after termGrace, waits for it, and says which ended it.
func stop(srv *exec.Cmd, done <-chan struct{}) string {
	select {
	case <-done:
		return "it had ended by itself"
	default:
	}
	_ = srv.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return "SIGTERM to sandbox run ended it"
	case <-time.After(termGrace):
	}
	_ = srv.Process.Kill()
	<-done
	return fmt.Sprintf("SIGTERM to sandbox run did not end it within %v; SIGKILL did", termGrace)
}
