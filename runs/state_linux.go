// Package runs keeps the records of this user's runs: the live record
// each running `sandbox` process holds locked (runs/PID.json), the state
// directory a run leaves for `ps -a` and `logs` (state/ID/), and its log.
// It lists, looks up, waits for and removes runs; the running parent
// (package sandbox) writes them through it.
package runs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sandbox/internal/linux"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// RuntimeDir is where run state lives: $XDG_RUNTIME_DIR/sandbox, or
// /tmp/sandbox-UID when there is no runtime dir. It is created mode 0700,
// and refused if someone else owns it (a shared /tmp).
func RuntimeDir() (string, error) {
	dir := filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "sandbox")
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir = filepath.Join(os.TempDir(), "sandbox-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the run-state directory: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return "", &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return "", fmt.Errorf("run-state directory %s is not a private directory of uid %d (owner %d, mode %o): remove it or set XDG_RUNTIME_DIR", dir, os.Getuid(), st.Uid, st.Mode&0o777)
	}
	return dir, nil
}

// Info is the record of one running sandbox.
type Info struct {
	PID     int       `json:"pid"`
	Project string    `json:"project"`
	Args    []string  `json:"args"`
	Started time.Time `json:"started"`
	// ID names the run (status_linux.go); Name is the user's name for
	// it, unique among live runs.
	ID       string   `json:"id,omitempty"`
	Name     string   `json:"name,omitempty"`
	Detached bool     `json:"detached,omitempty"`
	Ports    []string `json:"ports,omitempty"`
	// Ephemeral runs are not joined by `sandbox shell`.
	Ephemeral bool `json:"ephemeral,omitempty"`
	// Keep: the run's state directory outlives it (ps -a, logs).
	Keep bool `json:"keep,omitempty"`
	// Shell is the payload's $SHELL, what `sandbox shell` starts when it joins.
	Shell string `json:"shell,omitempty"`
	// Cgroup is the run's leaf, removed by whoever sweeps a dead record.
	Cgroup string `json:"cgroup,omitempty"`
}

// Record is a run's state file, flock-ed by its `sandbox` process for as
// long as it runs: a file whose lock can be taken belongs to a dead run.
// Beside it, PID.root is the run's empty scratch directory (the Spec's Scratch).
type Record struct {
	f       *os.File
	path    string // runs/PID.json
	scratch string
	info    Info
	state   string // the run's state directory (status_linux.go)
}

// ID is the run's id.
func (r *Record) ID() string { return r.info.ID }

// Dir is the run's state directory, state/ID/.
func (r *Record) Dir() string { return r.state }

// Scratch is the run's empty scratch directory, runs/PID.root.
func (r *Record) Scratch() string { return r.scratch }

func runsDir() (string, error) {
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	runs := filepath.Join(dir, "runs")
	return runs, os.MkdirAll(runs, 0o700)
}

// Register sweeps the records of dead runs and writes this run's: it
// gives the run its id, claims its name and makes its state directory.
func Register(info Info) (*Record, error) {
	runs, err := runsDir()
	if err != nil {
		return nil, err
	}
	unlock, err := lockNames(runs)
	if err != nil {
		return nil, err
	}
	defer unlock()
	live, err := list(runs)
	if err != nil {
		return nil, err
	}
	if err := claimName(&info, live); err != nil {
		return nil, err
	}
	state, err := createStateDir(info)
	if err != nil {
		return nil, err
	}
	// Written as PID.new, locked, and only then renamed to PID.json: a
	// record is never to be seen unlocked, or another run's sweep would
	// take it for a dead run's, remove this run's files and hold the lock
	// this run is about to take.
	p := filepath.Join(runs, strconv.Itoa(info.PID)+".json")
	tmp := strings.TrimSuffix(p, ".json") + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing run state: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking run state %s: %w", tmp, err)
	}
	if err := json.NewEncoder(f).Encode(info); err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Rename(tmp, p); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing run state: %w", err)
	}
	scratch := strings.TrimSuffix(p, ".json") + ".root"
	if err := os.Mkdir(scratch, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		f.Close()
		return nil, err
	}
	return &Record{f: f, path: p, scratch: scratch, info: info, state: state}, nil
}

// Release removes the record; the lock goes with the file.
func (r *Record) Release() {
	if !r.info.Keep {
		os.RemoveAll(r.state)
	}
	os.RemoveAll(r.scratch) // an image run leaves its overlay's mountpoint
	os.RemoveAll(filesDir(r.path))
	os.Remove(r.path)
	r.f.Close()
}

// filesDir holds files a run bind-mounts (resolv.conf, hosts) and its
// network helper's sockets: runs/PID.d beside runs/PID.json.
func filesDir(record string) string { return strings.TrimSuffix(record, ".json") + ".d" }

// FilesDir creates and returns the files directory of the run of this
// process, before its record exists.
func FilesDir() (string, error) {
	runs, err := runsDir()
	if err != nil {
		return "", err
	}
	dir := filesDir(filepath.Join(runs, strconv.Itoa(os.Getpid())+".json"))
	return dir, os.MkdirAll(dir, 0o700)
}

// List returns the sandboxes running for this user, removing the records
// of runs that died without cleaning up (a SIGKILLed `sandbox`).
func List() ([]Info, error) {
	runs, err := runsDir()
	if err != nil {
		return nil, err
	}
	return list(runs)
}

func list(runs string) ([]Info, error) {
	// One read of the directory, not one per kind of entry (issue 18).
	var news, dirs, paths []string
	entries, _ := os.ReadDir(runs)
	for _, e := range entries {
		p := filepath.Join(runs, e.Name())
		switch filepath.Ext(e.Name()) {
		case ".new":
			news = append(news, p)
		case ".d":
			dirs = append(dirs, p)
		case ".json":
			paths = append(paths, p)
		}
	}
	// A PID.new left by a run killed while registering: its process is gone.
	for _, p := range news {
		pid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ".new"))
		if err == nil && errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			os.Remove(p)
		}
	}
	// A PID.d without its record: the run failed before it registered
	// (a name in use, say) and its process is gone (review 12, F5).
	for _, d := range dirs {
		base := strings.TrimSuffix(d, ".d")
		pid, err := strconv.Atoi(filepath.Base(base))
		if _, rec := os.Stat(base + ".json"); err == nil && os.IsNotExist(rec) && errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			os.RemoveAll(d)
		}
	}
	var out []Info
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
			sweep(f)
			// An image run leaves its overlay's mountpoint (root/) in
			// its scratch directory: the whole tree goes, not only an
			// empty directory. Its files are the user's (the sandbox's
			// root maps to the user, and no subordinate id writes
			// there); read-only directories are opened up on the way.
			_ = linux.RemoveAll(strings.TrimSuffix(p, ".json") + ".root")
			os.RemoveAll(filesDir(p))
			os.Remove(p) // nobody holds it: its run is gone
			f.Close()
			continue
		} else if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("checking run state %s: %w", p, err)
		}
		var info Info
		if json.NewDecoder(f).Decode(&info) == nil {
			out = append(out, info)
		}
		f.Close()
	}
	return out, nil
}
