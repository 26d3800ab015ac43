package main

import (
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sandbox/internal/testenv"
	"sandbox/workspace"
)

// sinkAddress is this test network namespace's own address (on the sink
// veth that scripts/as-test-user makes): a server there is reachable from
// the proxy, which dials from this namespace, and from nowhere else.
func sinkAddress(t *testing.T) string {
	t.Helper()
	testenv.Require(t, testenv.IsolatedNet)
	ifc, err := net.InterfaceByName("sbxsink0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := ifc.Addrs()
	for _, a := range addrs {
		if ip, _, _ := net.ParseCIDR(a.String()); ip.To4() != nil {
			return ip.String()
		}
	}
	t.Fatal("sbxsink0 has no IPv4 address")
	return ""
}

// makeWritable lets the test's cleanup remove a Go module cache, whose
// directories the go command makes read-only.
func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// A Go module with a dependency passes `sandbox init && sandbox run -- go
// test ./...` with no edit: init reads GOPROXY from go env (a module proxy
// this test serves on its own network namespace's address), writes proxy
// mode allowing exactly that host, and the run fetches the dependency
// through the sandbox's proxy.
// The project's sandbox home starts with a copy (hard links) of build, a
// build cache the other Go test filled: the run compiles nothing twice.
func testInitGoProject(t *testing.T, build string) {
	p := newProject(t)
	gobin := filepath.Dir(goTool(t))
	seed := filepath.Join(p.home, ".local/share/sandbox/homes", workspace.ID(p.dir), ".cache")
	if err := os.MkdirAll(seed, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-al", build, filepath.Join(seed, "go-build")).CombinedOutput(); err != nil {
		t.Fatalf("seeding the build cache: %v: %s", err, out)
	}
	addr := sinkAddress(t)
	served := t.TempDir()
	sum := goModule(t, served)
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(served))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	goProject(t, p.dir, "a", sum, "")
	t.Cleanup(func() { makeWritable(filepath.Join(p.home, ".cache")) })
	env := []string{"PATH=" + gobin + ":/usr/bin:/bin", "GOPROXY=http://" + l.Addr().String(), "GOSUMDB=off", "GOTOOLCHAIN=local"}
	// The module proxy is on this machine's own address (the test's stand-in
	// for a registry): init writes allow_host_loopback, a grant, for it.
	for _, args := range [][]string{{"init"}, {"trust"}, {"run", "--", "go", "test", "./..."}} {
		cmd := p.command(args...)
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b, _ := os.ReadFile(filepath.Join(p.dir, "sandbox.toml"))
			t.Fatalf("sandbox %s: %v\n%s\nsandbox.toml:\n%s", strings.Join(args, " "), err, out, b)
		}
		t.Logf("sandbox %s:\n%s", strings.Join(args, " "), out)
	}
	b, _ := os.ReadFile(filepath.Join(p.dir, "sandbox.toml"))
	if !strings.Contains(string(b), "allow = [\""+addr+"\"]") || !strings.Contains(string(b), "shared = [\"go\"]") || !strings.Contains(string(b), "allow_host_loopback = true") {
		t.Errorf("sandbox.toml does not allow exactly %s or share the Go cache:\n%s", addr, b)
	}
}

// ecosystemProject writes files into a new project, runs sandbox init
// there, then the command under the written profile.
func ecosystemProject(t *testing.T, files map[string]string, command ...string) string {
	t.Helper()
	p := newProject(t)
	testenv.Require(t, testenv.IsolatedNet)
	for name, body := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(p.dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.output(t, "init")
	cmd := p.command(append([]string{"run", "--"}, command...)...)
	cmd.Env = append(cmd.Env, "PIP_INDEX_URL=https://pypi.example.org/simple")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(p.dir, "sandbox.toml"))
		t.Fatalf("%v: %v\n%s\nsandbox.toml:\n%s", command, err, out, b)
	}
	return string(out)
}

// A Python project's tests run with pytest (Debian's) under init's profile.
func TestInitPythonProject(t *testing.T) {
	testenv.Require(t, testenv.Tool("python3"))
	out := ecosystemProject(t, map[string]string{
		"pyproject.toml": "[project]\nname = \"x\"\nversion = \"0.1\"\n",
		"test_x.py":      "def test_answer():\n    assert 6 * 7 == 42\n",
	}, "python3", "-m", "pytest", "-q", "-p", "no:cacheprovider")
	if !strings.Contains(out, "1 passed") {
		t.Errorf("pytest: %s", out)
	}
}

// A Node project's tests run with node's own runner under init's profile.
func TestInitNodeProject(t *testing.T) {
	testenv.Require(t, testenv.Tool("node"))
	out := ecosystemProject(t, map[string]string{
		"package.json":   `{"name": "x", "version": "0.1.0", "scripts": {"test": "node --test"}}`,
		"test/x.test.js": "const test = require('node:test');\nconst assert = require('node:assert');\ntest('answer', () => assert.strictEqual(6 * 7, 42));\n",
	}, "node", "--test")
	if !strings.Contains(out, "# pass 1") {
		t.Errorf("node --test: %s", out)
	}
}
