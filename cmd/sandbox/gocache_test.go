package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"sandbox/internal/testenv"
)

// goTool finds the go command (the test user's PATH may lack Go's bin
// directory: it is where this test binary's GOROOT is).
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Require(t, testenv.Tool("go"))
	return ""
}

// goModule writes a Go module example.org/dep v1.0.0 as a GOPROXY=file://
// tree under dir, and returns its go.sum lines.
func goModule(t *testing.T, dir string) string {
	t.Helper()
	const mod, ver = "example.org/dep", "v1.0.0"
	gomod := []byte("module " + mod + "\n\ngo 1.21\n")
	files := map[string][]byte{
		mod + "@" + ver + "/go.mod": gomod,
		mod + "@" + ver + "/dep.go": []byte("package dep\n\n// Answer is what the test asks for.\nfunc Answer() int { return 42 }\n"),
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	v := filepath.Join(dir, mod, "@v")
	if err := os.MkdirAll(v, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"list": []byte(ver + "\n"), ver + ".info": []byte(`{"Version":"` + ver + `","Time":"2024-01-01T00:00:00Z"}`),
		ver + ".mod": gomod, ver + ".zip": zbuf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(v, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", mod, ver, dirHash(files), mod, ver, dirHash(map[string][]byte{"go.mod": gomod}))
}

// dirHash is the go.sum "h1:" hash (golang.org/x/mod/sumdb/dirhash Hash1).
func dirHash(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var summary strings.Builder
	for _, n := range names {
		fmt.Fprintf(&summary, "%x  %s\n", sha256.Sum256(files[n]), n)
	}
	sum := sha256.Sum256([]byte(summary.String()))
	return "h1:" + base64.StdEncoding.EncodeToString(sum[:])
}

// goProject writes a module that depends on example.org/dep.
func goProject(t *testing.T, dir, name, sum, profile string) {
	t.Helper()
	for file, body := range map[string]string{
		"go.mod":       "module example.org/" + name + "\n\ngo 1.21\n\nrequire example.org/dep v1.0.0\n",
		"go.sum":       sum,
		"x_test.go":    "package x\n\nimport (\n\t\"testing\"\n\n\t\"example.org/dep\"\n)\n\nfunc TestAnswer(t *testing.T) {\n\tif dep.Answer() != 42 {\n\t\tt.Fatal(dep.Answer())\n\t}\n}\n",
		"sandbox.toml": profile,
	} {
		if file == "sandbox.toml" && body == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The Go module tests share one build cache (compiling the testing
// package is the slow part of each, and it is not what they are about):
// the shared download cache, then init's Go preset.
func TestGoModules(t *testing.T) {
	build := t.TempDir()
	t.Run("SharedCache", func(t *testing.T) { testSharedGoCache(t, build) })
	t.Run("InitAndRun", func(t *testing.T) { testInitGoProject(t, build) })
}

// A shared Go cache: the first project's go test downloads its module
// into $XDG_CACHE_HOME/sandbox/go; the second project's first go test
// then downloads nothing (GOPROXY=off: it could not), while a project
// without the shared cache cannot build offline.
func testSharedGoCache(t *testing.T, build string) {
	p := newProject(t)
	gobin := filepath.Dir(goTool(t))
	sum := goModule(t, filepath.Join(p.dir, "goproxy"))
	shared := "[cache]\nshared = [\"go\"]\n"
	goProject(t, p.dir, "a", sum, shared)
	b, c := filepath.Join(filepath.Dir(p.dir), "b"), filepath.Join(filepath.Dir(p.dir), "c")
	goProject(t, b, "b", sum, shared)
	goProject(t, c, "c", sum, "")
	if err := os.Chmod(build, 0o755); err != nil {
		t.Fatal(err)
	}
	goTest := func(dir, proxy string) (string, error) {
		cmd := p.command("run", "-v", build+":"+build, "-e", "GOCACHE="+build, "-e", "GOPROXY="+proxy, "-e", "GOSUMDB=off",
			"-e", "GOTOOLCHAIN=local", "-e", "GOFLAGS=-modcacherw", "--", "go", "test", "-count=1", "./...")
		cmd.Dir = dir
		cmd.Env = append(cmd.Env, "PATH="+gobin+":/usr/bin:/bin")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := goTest(p.dir, "file://"+filepath.Join(p.dir, "goproxy")); err != nil {
		t.Fatalf("project a: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(p.home, ".cache/sandbox/go/cache/download/example.org/dep/@v/v1.0.0.zip")); err != nil {
		t.Fatalf("the shared cache lacks the module: %v", err)
	}
	if out, err := goTest(b, "off"); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("project b, offline, on the shared cache: %v\n%s", err, out)
	}
	if out, err := goTest(c, "off"); err == nil {
		t.Errorf("project c, offline, without the shared cache, passed:\n%s", out)
	}
}
