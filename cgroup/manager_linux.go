package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Supervisor is the leaf that our own processes move into when a
// delegated cgroup must enable controllers for its children: cgroup v2 lets
// only a cgroup without processes do that ("no internal processes").
const Supervisor = "sandbox-supervisor"

// Manager is one sandbox's cgroup.
type Manager struct {
	dir string
}

// Dir is the cgroup's directory.
func (m *Manager) Dir() string { return m.dir }

// Check says whether d can host sandboxes with limits l.
func Check(d Delegation, l Limits) error {
	need := l.Controllers()
	var missing []string
	for _, c := range need {
		if !d.Has(c) {
			missing = append(missing, c)
		}
	}
	if d.Mount == "" || len(missing) > 0 || !d.Writable {
		unavailable := len(missing) > 0
		if !unavailable {
			missing = need
		}
		return &MissingError{Controllers: missing, Dir: d.Dir, Available: d.Controllers, Unavailable: unavailable}
	}
	return nil
}

// New creates the cgroup name under Base(d) with limits l. It first
// enables the needed controllers in the base, moving the base's processes
// into the supervisor leaf if it has any.
func New(d Delegation, name string, l Limits) (*Manager, error) {
	if err := Check(d, l); err != nil {
		return nil, err
	}
	base := d.Dir
	if err := enable(base, l.Controllers()); err != nil {
		return nil, err
	}
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup: %w", err)
	}
	m := &Manager{dir: dir}
	for file, value := range l.Files() {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
			m.Destroy()
			return nil, fmt.Errorf("setting %s to %q in %s: %w", file, value, dir, err)
		}
	}
	return m, nil
}

// enable turns on controllers in base's cgroup.subtree_control.
func enable(base string, controllers []string) error {
	b, err := os.ReadFile(filepath.Join(base, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	enabled := strings.Fields(string(b))
	var add []string
	for _, c := range controllers {
		found := false
		for _, e := range enabled {
			found = found || e == c
		}
		if !found {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := evacuate(base); err != nil {
		return err
	}
	ctl := filepath.Join(base, "cgroup.subtree_control")
	if err := os.WriteFile(ctl, []byte(strings.Join(add, " ")), 0o644); err != nil {
		return fmt.Errorf("enabling %s in %s: %w", strings.Join(add, " "), ctl, err)
	}
	return nil
}

// evacuate moves every process of base into its supervisor leaf.
func evacuate(base string) error {
	procs, err := os.ReadFile(filepath.Join(base, "cgroup.procs"))
	if err != nil {
		return err
	}
	pids := strings.Fields(string(procs))
	if len(pids) == 0 {
		return nil
	}
	leaf := filepath.Join(base, Supervisor)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating the supervisor cgroup: %w", err)
	}
	for _, pid := range pids {
		err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(pid), 0o644)
		if err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("moving pid %s into %s: %w", pid, leaf, err)
		}
	}
	return nil
}

// Open returns a directory fd of the cgroup, for clone3's CLONE_INTO_CGROUP.
func (m *Manager) Open() (*os.File, error) {
	return os.OpenFile(m.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// Stats are a cgroup's counters at the end of a run.
type Stats struct {
	MemoryPeak    int64 `json:"memory_peak_bytes"`
	OOMKills      int64 `json:"oom_kills"`
	CPUUsageUsec  int64 `json:"cpu_usage_usec"`
	CPUThrottled  int64 `json:"cpu_throttled_periods"`
	PidsMaxEvents int64 `json:"pids_max_events"`
}

// Stats reads the counters; missing files (controllers not enabled) read
// as zero.
func (m *Manager) Stats() Stats {
	var s Stats
	s.MemoryPeak = readInt(filepath.Join(m.dir, "memory.peak"))
	s.OOMKills = readKey(filepath.Join(m.dir, "memory.events"), "oom_kill")
	s.CPUUsageUsec = readKey(filepath.Join(m.dir, "cpu.stat"), "usage_usec")
	s.CPUThrottled = readKey(filepath.Join(m.dir, "cpu.stat"), "nr_throttled")
	s.PidsMaxEvents = readKey(filepath.Join(m.dir, "pids.events"), "max")
	return s
}

// Destroy kills whatever is left in the cgroup (cgroup.kill) and removes
// it, retrying while the kernel finishes the kills.
func (m *Manager) Destroy() error {
	_ = os.WriteFile(filepath.Join(m.dir, "cgroup.kill"), []byte("1"), 0o644)
	var err error
	for i := 0; i < 100; i++ {
		if err = unix.Rmdir(m.dir); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !isCgroupfs(m.dir) { // a test's fake tree: ordinary files
			return os.RemoveAll(m.dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &os.PathError{Op: "rmdir", Path: m.dir, Err: err}
}

func isCgroupfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

func readInt(path string) int64 {
	b, _ := os.ReadFile(path)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// readKey reads "key value" lines (memory.events, cpu.stat).
func readKey(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
