package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/imageworker"
	"sandbox/internal/testenv"
	"sandbox/userns"
)

// project is a scratch project with its own home and run-state directory,
// for tests that drive the sandbox binary from Go.
type project struct {
	dir, home, runtime string
}

func newProject(t *testing.T) *project {
	t.Helper()
	testenv.Require(t, namespaces...)
	root := t.TempDir()
	p := &project{dir: filepath.Join(root, "proj"), home: filepath.Join(root, "home"), runtime: filepath.Join(root, "run")}
	for _, d := range []string{p.dir, p.home, p.runtime} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { removeOwned(t, p.home) })
	return p
}

// removeOwned removes a tree holding files of subordinate ids (image
// layers, sandboxes) through the unpacker's user namespace, where
// TempDir's own cleanup would fail.
func removeOwned(t *testing.T, dir string) {
	if _, err := os.Stat(filepath.Join(dir, ".local/share/sandbox")); err != nil {
		return
	}
	u, _ := user.Current()
	m, err := userns.NewMapping(u.Username, os.Getuid(), os.Getgid())
	if err != nil {
		return
	}
	unpacker := imageworker.NewUnpacker(m)
	if c, ok := unpacker.(interface{ Close() }); ok {
		defer c.Close()
	}
	if err := unpacker.RemoveAll(filepath.Join(dir, ".local/share/sandbox")); err != nil {
		t.Errorf("removing the test's image store: %v", err)
	}
}

// command runs `sandbox ARGS...` in the project ("sandbox" is this test
// binary, put on PATH by testscript.Main).
func (p *project) command(args ...string) *exec.Cmd {
	cmd := exec.Command("sandbox", args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "HOME="+p.home, "XDG_DATA_HOME="+filepath.Join(p.home, ".local/share"), "XDG_CONFIG_HOME="+filepath.Join(p.home, ".config"),
		"XDG_RUNTIME_DIR="+p.runtime, "SHELL=/bin/bash", "TERM=xterm")
	return cmd
}

// output runs the command and returns its stdout, failing on error.
func (p *project) output(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := p.command(args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sandbox %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// lineReader collects output and waits for text to appear in it.
type lineReader struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func readAll(r io.Reader) *lineReader {
	l := &lineReader{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			l.mu.Lock()
			l.buf.Write(b[:n])
			l.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return l
}

func (l *lineReader) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the output holds want after offset from, returning
// the offset just past it.
func (l *lineReader) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := l.String()
		if i := strings.Index(s[min(from, len(s)):], want); i >= 0 {
			return from + i + len(want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %q; output so far:\n%s", want, l.String())
	return 0
}

// processesWith returns the pids of this user's processes whose command
// line contains marker.
func processesWith(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// nsLinks reads the namespace links of pid ("self" for this process).
func nsLinks(t *testing.T, pid string, names []string) []string {
	var out []string
	for _, n := range names {
		l, err := os.Readlink(filepath.Join("/proc", pid, "ns", n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// tiocsti is a helper command (this test binary run as "tiocsti"): it
// tries to push a command into its stdin's terminal input queue and says
// what happened.
func tiocsti() {
	for _, c := range []byte("echo INJECTED\n") {
		if err := unix.IoctlSetPointerInt(0, unix.TIOCSTI, int(c)); err != nil {
			fmt.Println("tiocsti:", err)
			os.Exit(1)
		}
	}
	fmt.Println("tiocsti: injected")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
