package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sandbox/internal/testenv"
)

// TestSlimInit runs the CLI that `make build` makes: its init and payload
// stage come from sandbox-init beside it (no registry client, CDI or
// cobra to initialise), and only when that file is the build the CLI was
// linked with; a stale or foreign sandbox-init is never run.
func TestSlimInit(t *testing.T) {
	testenv.Require(t, testenv.SlimInit)
	testenv.Require(t, namespaces...)
	built := os.Getenv("SANDBOX_TEST_SLIM_INIT")
	cases := []struct {
		name string
		init string // what lies beside sandbox as sandbox-init; "" none
		want string // whose code runs as init: "sandbox-init" or "sandbox"
	}{
		{"the matching build", filepath.Join(built, "sandbox-init"), "sandbox-init"},
		{"another program", "/bin/true", "sandbox"},
		{"none", "", "sandbox"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := t.TempDir()
			copyFile(t, filepath.Join(built, "sandbox"), filepath.Join(bin, "sandbox"))
			if c.init != "" {
				copyFile(t, c.init, filepath.Join(bin, "sandbox-init"))
			}
			p := newProject(t)
			cli := filepath.Join(bin, "sandbox")
			if got := initExe(t, p, cli); got != filepath.Join(bin, c.want) {
				t.Errorf("init runs %s, want %s", got, filepath.Join(bin, c.want))
			}
			// The whole run works from either binary: exit status, and the
			// payload stage's seccomp filter with its denial report.
			cmd := p.command("run", "--", "sh", "-c", "unshare -U true; exit 7")
			cmd.Path = cli
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
				t.Fatalf("run: %v, want exit 7\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "seccomp: denied unshare") {
				t.Errorf("no seccomp denial reported:\n%s", stderr.String())
			}
		})
	}
}

// initExe starts a run of cli that waits on its stdin and returns the
// executable of the run's init, as the host sees it.
func initExe(t *testing.T, p *project, cli string) string {
	t.Helper()
	cmd := p.command("run", "--", "sh", "-c", "echo ready; read x || true")
	cmd.Path = cli
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("run: %v\n%s", err, stderr.String())
		}
	}()
	readAll(stdout).waitFor(t, 0, "ready")
	// init is the sandbox process's child; its children are the payload's.
	pid := strconv.Itoa(cmd.Process.Pid)
	var exes []string
	tasks, _ := filepath.Glob("/proc/" + pid + "/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, child := range strings.Fields(string(b)) {
			if exe, err := os.Readlink("/proc/" + child + "/exe"); err == nil {
				exes = append(exes, exe)
			}
		}
	}
	if len(exes) != 1 {
		t.Fatalf("want one child of sandbox run (init), got executables %q", exes)
	}
	return exes[0]
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
