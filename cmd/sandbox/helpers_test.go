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
	"slices"
	"strconv"
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
	deadline := time.Now().Add(patience)
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

// processesWithWord returns the pids of this user's processes whose
// command line holds one of words as a whole word: not preceded or
// followed by a letter, digit, '.' or '_', so that a marker never
// matches a longer one that starts with it.
func processesWithWord(words ...string) []int {
	var pids []int
	for pid, argv := range commandLines() {
		line := strings.Join(argv, " ")
		for _, w := range words {
			if containsWord(line, w) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// processesRunning returns the pids of the processes running the program
// comm (its /proc/PID/comm) with exactly the arguments args. A forked
// child that has not exec'd yet still has its parent's comm and command
// line, so it is not counted as the program it is about to run.
func processesRunning(comm string, args ...string) []int {
	var pids []int
	for pid, argv := range commandLines() {
		name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSuffix(string(name), "\n") == comm && slices.Equal(argv, append([]string{comm}, args...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// commandLines maps each process's pid to its argv, as /proc shows them.
func commandLines() map[int][]string {
	lines := map[int][]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		lines[pid] = strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	}
	return lines
}

// containsWord says whether w occurs in s with no word character
// (letter, digit, '.', '_') on either side.
func containsWord(s, w string) bool {
	wordByte := func(c byte) bool {
		return c == '.' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !wordByte(s[start-1])) && (end == len(s) || !wordByte(s[end])) {
			return true
		}
		i = start + 1
	}
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

// vmHWM is a process's peak resident set in KiB.
func vmHWM(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	return 0
}

// procState is the state letter of pid in /proc/PID/stat (R, S, T...), or
// 0 when it is gone.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
