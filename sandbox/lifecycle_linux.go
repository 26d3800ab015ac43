package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A run's state directory, $RUNTIME/state/ID/, holds run.json (its
// RunInfo), exit.json once it ended, its log (output.log and one rotation,
// output.log.1) and ctl.sock, the control socket its `sandbox` process
// (the supervisor) serves for exec and stop. It outlives the run when the
// run is detached, named or logged (RunInfo.Keep), for `ps -a` and `logs`,
// until `sandbox rm`.
const (
	runFile  = "run.json"
	exitFile = "exit.json"
	ctlFile  = "ctl.sock"
	// LogFile is the current log; LogFile+".1" the rotated one.
	LogFile = "output.log"
)

// SupervisorEnv marks the background `sandbox run -d` process that owns a
// detached run (its supervisor); its value is the inode of the pipe on
// ReadyFD where the supervisor reports the run's id.
const (
	SupervisorEnv = "_SANDBOX_SUPERVISOR"
	ReadyFD       = 3
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

// Lifecycle is what a run is known by and where its output goes.
type Lifecycle struct {
	Name string
	// Detached: the run's `sandbox` process is a background supervisor;
	// its output goes to the log only.
	Detached bool
	// Log keeps a log of a foreground run too (--log), beside its output.
	Log bool
	// LogMax is the log's size cap (0: DefaultLogMax).
	LogMax int64
	// Ephemeral runs are not joined by `sandbox shell`.
	Ephemeral bool
	// Started, if set, is called with the run's id once its payload runs.
	Started func(id string)
}

func (o RunOptions) runInfo() RunInfo {
	l := o.Lifecycle
	info := RunInfo{
		PID: os.Getpid(), Project: o.Project, Args: o.Spec.Process.Args, Started: time.Now(),
		Name: l.Name, Detached: l.Detached, Ephemeral: l.Ephemeral, Keep: l.Detached || l.Log || l.Name != "",
		Shell: lookupEnv(o.Spec.Process.Env, "SHELL"),
	}
	if o.Net != nil {
		info.Ports = o.Net.Ports()
	}
	if o.Cgroup != nil {
		info.Cgroup = o.Cgroup.Dir()
	}
	return info
}

func (l Lifecycle) started(rec *record) func() {
	if l.Started == nil {
		return nil
	}
	return func() { l.Started(rec.info.ID) }
}

// startLog sends the payload's output to the run's log: only there when
// detached, else also to stdout and stderr. done closes our ends of the
// pipes and waits for the last line.
func (l Lifecycle) startLog(state string, stdout, stderr *os.File) (o, e *os.File, done func(), err error) {
	if !l.Log && !l.Detached {
		return stdout, stderr, func() {}, nil
	}
	w, err := OpenLog(filepath.Join(state, LogFile), l.LogMax)
	if err != nil {
		return nil, nil, nil, err
	}
	var ends []*os.File
	for i, tee := range []*os.File{stdout, stderr} {
		r, pw, err := os.Pipe()
		if err != nil {
			closeAll(ends)
			return nil, nil, nil, err
		}
		var to io.Writer
		if !l.Detached {
			to = tee
		}
		w.Copy(r, "oe"[i], to)
		ends = append(ends, pw)
	}
	return ends[0], ends[1], func() { closeAll(ends); w.Wait() }, nil
}

// RunStatus is one run as `ps` shows it.
type RunStatus struct {
	RunInfo
	// Status: "running", "exited", or "lost" (its supervisor was killed
	// before it could record how the run ended).
	Status string    `json:"status"`
	Exit   *ExitInfo `json:"exit,omitempty"`
	Log    string    `json:"log,omitempty"`
	Dir    string    `json:"-"`
}

// Running reports whether the run is alive.
func (r RunStatus) Running() bool { return r.Status == "running" }

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

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
func claimName(info *RunInfo, live []RunInfo) error {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	info.ID = hex.EncodeToString(b)
	if info.Name == "" {
		return nil
	}
	if !namePattern.MatchString(info.Name) {
		return &SetupError{Msg: fmt.Sprintf("run name %q is not valid", info.Name), Fix: "use letters, digits, '_', '.' and '-' (at most 64)"}
	}
	for _, r := range live {
		if r.Name == info.Name {
			return &SetupError{
				Msg: fmt.Sprintf("the name %q is in use by the running sandbox %s (pid %d)", info.Name, r.ID, r.PID),
				Fix: fmt.Sprintf("choose another --name, or stop it first: sandbox stop %s", info.Name),
			}
		}
	}
	all, _ := ListAll()
	for _, r := range all {
		if r.Name == info.Name && !r.Running() {
			return &SetupError{
				Msg: fmt.Sprintf("the name %q is still held by the exited run %s", info.Name, r.ID),
				Fix: fmt.Sprintf("remove it first: sandbox rm %s", info.Name),
			}
		}
	}
	return nil
}

// createStateDir makes the run's state directory and writes run.json.
func createStateDir(info RunInfo) (string, error) {
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

// finish records how the run ended, before its live record goes.
func (r *record) finish(res *Result, err error) {
	code := res.Code
	var execErr *ExecError
	switch {
	case errors.As(err, &execErr):
		code = execErr.Code
	case err != nil:
		code = ExitSetup
	}
	_ = writeJSON(filepath.Join(r.state, exitFile), ExitInfo{
		Code: code, Ended: time.Now(), DurationMS: res.Duration.Milliseconds(),
		TimedOut: res.TimedOut, OOMKilled: res.OOMKilled, Stopped: r.ctl != nil && r.ctl.stopped,
	})
}

// sweep cleans up after a run whose supervisor died without doing so (a
// SIGKILL): init and its network helper died with it (parent-death signal,
// watchdog), but the cgroup leaf stays until someone removes it.
func sweep(f *os.File) {
	var info RunInfo
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
func ListAll() ([]RunStatus, error) {
	live, err := List()
	if err != nil {
		return nil, err
	}
	root, err := stateRoot()
	if err != nil {
		return nil, err
	}
	byID := map[string]RunInfo{}
	for _, r := range live {
		byID[r.ID] = r
	}
	entries, _ := os.ReadDir(root)
	var out []RunStatus
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		var st RunStatus
		if readJSON(filepath.Join(dir, runFile), &st.RunInfo) != nil {
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

// Lookup finds a run by name, id, or unambiguous id prefix (as podman).
func Lookup(ref string) (RunStatus, error) {
	all, err := ListAll()
	if err != nil {
		return RunStatus{}, err
	}
	return lookupIn(all, ref)
}

func lookupIn(all []RunStatus, ref string) (RunStatus, error) {
	var byPrefix []RunStatus
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
		return RunStatus{}, &NotFoundError{Ref: ref}
	case 1:
		return byPrefix[0], nil
	}
	return RunStatus{}, &SetupError{
		Msg: fmt.Sprintf("%q is the start of %d run ids (%s, %s...)", ref, len(byPrefix), byPrefix[0].ID, byPrefix[1].ID),
		Fix: "give more of the id, or the run's name",
	}
}

// Remove forgets an ended run: its records and its log.
func Remove(r RunStatus) error {
	if r.Running() {
		return &SetupError{
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
// returns how it ended.
func WaitExited(r RunStatus, timeout time.Duration) (RunStatus, error) {
	deadline := time.Now().Add(timeout)
	for {
		all, err := ListAll()
		if err != nil {
			return r, err
		}
		cur, err := lookupIn(all, r.ID)
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
