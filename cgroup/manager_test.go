package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeTree makes a directory that looks like a delegated cgroup v2 cgroup
// with one process in it.
func fakeTree(t *testing.T) Delegation {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "user@1000.service", "app.slice", "run-1.scope")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, content := range map[string]string{"cgroup.controllers": "cpu io memory pids\n", "cgroup.subtree_control": "", "cgroup.procs": "4242\n"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Delegation{Mount: "/sys/fs/cgroup", Dir: dir, Controllers: []string{"cpu", "io", "memory", "pids"}, Writable: true}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLimitsFiles(t *testing.T) {
	l := Limits{MemoryMax: 2 << 30, SwapSet: true, CPUs: 1.5, CPUWeight: 100, PidsMax: 512, IOWeight: 50}
	want := map[string]string{
		"memory.max": "2147483648", "memory.swap.max": "0", "cpu.max": "150000 100000",
		"cpu.weight": "100", "pids.max": "512", "io.weight": "default 50",
	}
	if got := l.Files(); !reflect.DeepEqual(got, want) {
		t.Errorf("Files() = %v, want %v", got, want)
	}
	if got := l.Controllers(); !reflect.DeepEqual(got, []string{"cpu", "io", "memory", "pids"}) {
		t.Errorf("Controllers() = %v", got)
	}
	if got := (Limits{PidsMax: 10}).Controllers(); !reflect.DeepEqual(got, []string{"pids"}) {
		t.Errorf("Controllers() = %v, want [pids]", got)
	}
}

func TestNewEvacuatesAndEnables(t *testing.T) {
	d := fakeTree(t)
	m, err := New(d, "sandbox-1", Limits{MemoryMax: 64 << 20, PidsMax: 32})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(d.Dir, "cgroup.subtree_control")); got != "+memory +pids" {
		t.Errorf("subtree_control = %q, want +memory +pids", got)
	}
	if got := read(t, filepath.Join(d.Dir, Supervisor, "cgroup.procs")); got != "4242" {
		t.Errorf("supervisor procs = %q, want the base's process", got)
	}
	if got := read(t, filepath.Join(m.Dir(), "memory.max")); got != "67108864" {
		t.Errorf("memory.max = %q", got)
	}
	if got := read(t, filepath.Join(m.Dir(), "pids.max")); got != "32" {
		t.Errorf("pids.max = %q", got)
	}
	os.WriteFile(filepath.Join(m.Dir(), "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644)
	os.WriteFile(filepath.Join(m.Dir(), "cpu.stat"), []byte("usage_usec 1500\nnr_periods 10\nnr_throttled 4\n"), 0o644)
	os.WriteFile(filepath.Join(m.Dir(), "memory.peak"), []byte("123456\n"), 0o644)
	if s := m.Stats(); s != (Stats{MemoryPeak: 123456, OOMKills: 1, CPUUsageUsec: 1500, CPUThrottled: 4}) {
		t.Errorf("Stats() = %+v", s)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir()); !os.IsNotExist(err) {
		t.Errorf("the cgroup is still there: %v", err)
	}
}

func TestCheckNamesWhatIsMissing(t *testing.T) {
	hybrid := Delegation{Mount: "/sys/fs/cgroup/unified", Dir: "/sys/fs/cgroup/unified", Controllers: []string{"hugetlb"}}
	err := Check(hybrid, Limits{MemoryMax: 1 << 30, PidsMax: 10})
	var missing *MissingError
	if !errors.As(err, &missing) || !reflect.DeepEqual(missing.Controllers, []string{"memory", "pids"}) {
		t.Fatalf("Check(hybrid) = %v, want memory and pids missing", err)
	}
	if !strings.Contains(err.Error(), "memory pids") || !strings.Contains(missing.Hint(), "cgroup v1") {
		t.Errorf("error %q / hint %q should name the controllers and the v1 host", err, missing.Hint())
	}
	notMine := Delegation{Mount: "/sys/fs/cgroup", Dir: "/sys/fs/cgroup/user.slice/session-1.scope", Controllers: []string{"cpu", "memory", "pids"}}
	err = Check(notMine, Limits{PidsMax: 10})
	if !errors.As(err, &missing) || !strings.Contains(missing.Hint(), "Delegate=") {
		t.Errorf("Check(not delegated) = %v, hint %q, want the Delegate= drop-in", err, missing.Hint())
	}
	if err := Check(Delegation{}, Limits{PidsMax: 1}); err == nil || !strings.Contains(err.Error(), "no cgroup v2") {
		t.Errorf("Check(no v2) = %v", err)
	}
}
