package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"sandbox/internal/testenv"
)

// The network helper never outlives its sandbox, also when sandbox itself
// is SIGKILLed (pasta quits with the namespace, slirp4netns with its
// --exit-fd).
func TestNetworkHelperDiesWithSandbox(t *testing.T) {
	for _, backend := range []string{"pasta", "slirp4netns"} {
		t.Run(backend, func(t *testing.T) {
			p := newProject(t)
			testenv.Require(t, testenv.IsolatedNet, testenv.Tool(backend))
			toml := "[network]\nmode = \"slirp\"\nbackend = \"" + backend + "\"\nports = [\"127.0.0.1:18097:80\"]\n"
			if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(toml), 0o644); err != nil {
				t.Fatal(err)
			}
			// The helper's command line names the run-state directory,
			// which is this test's own.
			marker := filepath.Join(p.runtime, "sandbox", "runs")
			cmd := p.command("run", "--", "sleep", "300")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(waited) }()
			// A failure below leaves no run holding the port for the
			// next test.
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-waited })
			waitUntil(t, patience, "a "+backend+" process runs", func() bool { return len(processesWith(marker)) > 0 })
			cmd.Process.Kill()
			<-waited
			killed := time.Now()
			for len(processesWith(marker)) > 0 && time.Since(killed) < patience {
				time.Sleep(10 * time.Millisecond)
			}
			if left := processesWith(marker); len(left) > 0 {
				t.Fatalf("%s %v outlived the SIGKILLed sandbox", backend, left)
			}
			t.Logf("%s gone %v after the SIGKILL", backend, time.Since(killed))
			// Its port is free again.
			if err := p.command("run", "--", "true").Run(); err != nil {
				t.Errorf("the next run with the same port: %v", err)
			}
		})
	}
}
