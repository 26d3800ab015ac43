package runs

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A run's state directory, $RUNTIME/state/ID/, holds run.json (its
// Info), exit.json once it ended, its log (output.log and one rotation,
// output.log.1) and ctl.sock, the control socket its `sandbox` process
// (the supervisor) serves for exec and stop (package sandbox). It outlives
// the run when the run is detached, named or logged (Info.Keep), for
// `ps -a` and `logs`, until `sandbox rm`.
const (
	runFile  = "run.json"
	exitFile = "exit.json"
	// LogFile is the current log; LogFile+".1" the rotated one.
	LogFile = "output.log"
)

// ExitInfo is exit.json: how a run ended.
type ExitInfo struct {
	Code       int       `json:"exit_code"`
	Ended      time.Time `json:"ended"`
	DurationMS int64     `json:"duration_ms"`
	TimedOut   bool      `json:"timed_out,omitempty"`
	OOMKilled  bool      `json:"oom_killed,omitempty"`
	Stopped    bool      `json:"stopped,omitempty"`
}

// Status is one run as `ps` shows it.
type Status struct {
	Info
	// Status: "running", "exited", or "lost" (its supervisor was killed
	// before it could record how the run ended).
	Status string    `json:"status"`
	Exit   *ExitInfo `json:"exit,omitempty"`
	Log    string    `json:"log,omitempty"`
	Dir    string    `json:"-"`
}

// Running reports whether the run is alive.
func (r Status) Running() bool { return r.Status == "running" }

var namePattern = sync.OnceValue(func() *regexp.Regexp {
	// Compiled on first use, not at package init: init links this package
	// and would pay for it at every start.
	return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)
})

func stateRoot() (string, error) {
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(dir, "state")
	return root, os.MkdirAll(root, 0o700)
}

// lockNames serialises the check that a name is free with the record that
// claims it.
func lockNames(runs string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(filepath.Dir(runs), "names.lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking run names: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking run names: %w", err)
	}
	return func() { f.Close() }, nil
}

// claimName gives info a fresh id and checks its name against the live
// runs and the kept records (a name names one run until `sandbox rm`).
func claimName(info *Info, live []Info) error {
	// getrandom(2) itself: crypto/rand's first use sets up the vDSO's
	// per-thread state, ~0.3 ms of a run's start here (issue 18), for 6
	// bytes of the same source.
	b := make([]byte, 6)
	if _, err := unix.Getrandom(b, 0); err != nil {
		return fmt.Errorf("reading random bytes for the run's id: %w", err)
	}
	info.ID = hex.EncodeToString(b)
	if info.Name == "" {
		return nil
	}
	if !namePattern().MatchString(info.Name) {
		return &Error{Msg: fmt.Sprintf("run name %q is not valid", info.Name), Fix: "use letters, digits, '_', '.' and '-' (at most 64)"}
	}
	for _, r := range live {
		if r.Name == info.Name {
			return &Error{
				Msg: fmt.Sprintf("the name %q is in use by the running sandbox %s (pid %d)", info.Name, r.ID, r.PID),
				Fix: fmt.Sprintf("choose another --name, or stop it first: sandbox stop %s", info.Name),
			}
		}
	}
	all, _ := ListAll()
	for _, r := range all {
		if r.Name == info.Name && !r.Running() {
			return &Error{
				Msg: fmt.Sprintf("the name %q is still held by the exited run %s", info.Name, r.ID),
				Fix: fmt.Sprintf("remove it first: sandbox rm %s", info.Name),
			}
		}
	}
	return nil
}

// createStateDir makes the run's state directory and writes run.json.
func createStateDir(info Info) (string, error) {
	root, err := stateRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, info.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the run's state directory: %w", err)
	}
	return dir, writeJSON(filepath.Join(dir, runFile), info)
}

// Finish records how the run ended (exit.json), before its live record
// goes. A run that is not kept writes none: Release removes its state
// directory right after, and the file, created on a disk and removed a
// moment later, cost each run ~0.5 ms (issue 18). WaitExited takes such
// a run's vanishing as its end.
func (r *Record) Finish(e ExitInfo) {
	if !r.info.Keep {
		return
	}
	_ = writeJSON(filepath.Join(r.state, exitFile), e)
}

// sweep cleans up after a run whose supervisor died without doing so (a
// SIGKILL): init and its network helper died with it (parent-death signal,
// watchdog), but the cgroup leaf stays until someone removes it.
func sweep(f *os.File) {
	var info Info
	if _, err := f.Seek(0, 0); err != nil || json.NewDecoder(f).Decode(&info) != nil {
		return
	}
	if info.Cgroup != "" && strings.HasPrefix(info.Cgroup, "/sys/fs/cgroup/") {
		_ = os.WriteFile(filepath.Join(info.Cgroup, "cgroup.kill"), []byte("1"), 0o644)
		for i := 0; i < 50; i++ {
			if err := unix.Rmdir(info.Cgroup); err == nil || errors.Is(err, unix.ENOENT) || !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if info.ID != "" && !info.Keep {
		if root, err := stateRoot(); err == nil {
			os.RemoveAll(filepath.Join(root, info.ID))
		}
	}
}

// ListAll returns every run this user's state knows: the live ones and the
// kept records of ended ones, oldest first.
func ListAll() ([]Status, error) {
	live, err := List()
	if err != nil {
		return nil, err
	}
	root, err := stateRoot()
	if err != nil {
		return nil, err
	}
	byID := map[string]Info{}
	for _, r := range live {
		byID[r.ID] = r
	}
	// An unreadable state directory is an error, not an empty list:
	// WaitExited takes a run it does not list as ended (review 18b, F2).
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	var out []Status
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		var st Status
		if readJSON(filepath.Join(dir, runFile), &st.Info) != nil {
			continue
		}
		st.Dir, st.Log = dir, filepath.Join(dir, LogFile)
		var ex ExitInfo
		switch {
		case readJSON(filepath.Join(dir, exitFile), &ex) == nil:
			st.Status, st.Exit = "exited", &ex
		case byID[st.ID].PID != 0:
			st.Status = "running"
		default:
			st.Status = "lost"
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}

// NotFoundError is an id or name that names no run.
type NotFoundError struct{ Ref string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no sandbox run %q", e.Ref) }

// Hint points at ps.
func (e *NotFoundError) Hint() string { return "see `sandbox ps -a` for the runs' ids and names" }

// NotRunningError is an exec or stop of a run that has ended.
type NotRunningError struct{ Run Status }

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("run %s is not running (%s)", e.Run.ID, e.Run.Status)
}

// Hint says what can still be done with it.
func (e *NotRunningError) Hint() string {
	return "its output is still there: sandbox logs " + e.Run.ID
}

// Lookup finds a run by name, id, or unambiguous id prefix (as podman).
func Lookup(ref string) (Status, error) {
	all, err := ListAll()
	if err != nil {
		return Status{}, err
	}
	return lookupIn(all, ref)
}

func lookupIn(all []Status, ref string) (Status, error) {
	var byPrefix []Status
	for _, r := range all {
		if r.Name == ref && ref != "" || r.ID == ref {
			return r, nil
		}
		if ref != "" && strings.HasPrefix(r.ID, ref) {
			byPrefix = append(byPrefix, r)
		}
	}
	switch len(byPrefix) {
	case 0:
		return Status{}, &NotFoundError{Ref: ref}
	case 1:
		return byPrefix[0], nil
	}
	return Status{}, &Error{
		Msg: fmt.Sprintf("%q is the start of %d run ids (%s, %s...)", ref, len(byPrefix), byPrefix[0].ID, byPrefix[1].ID),
		Fix: "give more of the id, or the run's name",
	}
}

// Remove forgets an ended run: its records and its log.
func Remove(r Status) error {
	if r.Running() {
		return &Error{
			Msg: fmt.Sprintf("run %s is still running", r.ID),
			Fix: "stop it first: sandbox stop " + r.ID,
		}
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		return fmt.Errorf("removing run %s: %w", r.ID, err)
	}
	return nil
}

// WaitExited polls until the run's supervisor is gone (its live record
// released, so its cgroup, network helper and mounts are gone too), and
// returns how it ended. A run that is not kept leaves no record at all:
// once gone it is returned as "exited", without an exit status.
func WaitExited(r Status, timeout time.Duration) (Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		all, err := ListAll()
		if err != nil {
			return r, err
		}
		cur, err := lookupIn(all, r.ID)
		var gone *NotFoundError
		if errors.As(err, &gone) {
			r.Status, r.Exit = "exited", nil
			return r, nil
		}
		if err != nil || !cur.Running() {
			return cur, err
		}
		if time.Now().After(deadline) {
			return cur, fmt.Errorf("run %s did not end within %s", r.ID, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
