package runs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestConcurrentRegistersKeepTheirRecords: runs registering at once never
// take each other's fresh record for a dead run's (which removed its files
// and held the lock the run was about to take: exit 125).
func TestConcurrentRegistersKeepTheirRecords(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	// Records are named by pid, and a live pid's is never swept: borrow
	// those of live processes.
	var pids []int
	for range 8 {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		pids = append(pids, cmd.Process.Pid)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 150 {
				rec, err := Register(Info{PID: pids[g]})
				if err != nil {
					errs <- err
					return
				}
				if _, err := os.Stat(rec.path); err != nil {
					errs <- err
					rec.Release()
					return
				}
				rec.Release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSweepsFilesOfUnregisteredRuns: a run that failed before registering
// (its name in use) left runs/PID.d without PID.json; once its process is
// gone the next listing removes it, and a live process's is kept.
func TestSweepsFilesOfUnregisteredRuns(t *testing.T) {
	dir, dead, live := runsWithDeadAndLive(t)
	deadDir := filepath.Join(dir, strconv.Itoa(dead)+".d")
	liveDir := filepath.Join(dir, strconv.Itoa(live)+".d")
	for _, d := range []string{deadDir, liveDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := List(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(deadDir); !os.IsNotExist(err) {
		t.Errorf("a dead unregistered run's files stay: %v", err)
	}
	if _, err := os.Stat(liveDir); err != nil {
		t.Errorf("a live process's files went: %v", err)
	}
}

// TestListSweepsEachKindOfLeftover: one listing (one read of the
// directory, issue 18) sweeps a dead run's PID.new, its unlocked
// PID.json with its PID.d and PID.root, and keeps a live process's
// PID.new.
func TestListSweepsEachKindOfLeftover(t *testing.T) {
	dir, dead, live := runsWithDeadAndLive(t)
	at := func(pid int, ext string) string { return filepath.Join(dir, strconv.Itoa(pid)+ext) }
	gone := []string{at(dead, ".new"), at(dead+1, ".json"), at(dead+1, ".d"), at(dead+1, ".root")}
	kept := at(live, ".new")
	for _, p := range append(gone, kept) {
		var err error
		if ext := filepath.Ext(p); ext == ".d" || ext == ".root" {
			err = os.Mkdir(p, 0o700)
		} else {
			err = os.WriteFile(p, []byte(`{"pid":1}`), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	listed, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 {
		t.Errorf("List() = %+v, want no live runs", listed)
	}
	for _, p := range gone {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s stays after the listing: %v", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("a live process's %s went: %v", filepath.Base(kept), err)
	}
}

// runsWithDeadAndLive gives a test a runs directory of its own, the pid of
// a process that has exited and that of one that lives until the test
// ends.
func runsWithDeadAndLive(t *testing.T) (dir string, dead, live int) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	dir, err := runsDir()
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	running := exec.Command("sleep", "600")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.Process.Kill(); running.Wait() })
	return dir, gone.Process.Pid, running.Process.Pid
}
