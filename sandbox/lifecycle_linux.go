package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"sandbox/host"
	"sandbox/runs"
)

// The parent's side of a run's record (package runs keeps the records):
// it registers the run, starts its log, and writes how it ended.

// SupervisorEnv marks the background `sandbox run -d` process that owns a
// detached run (its supervisor); its value is the inode of the pipe on
// ReadyFD where the supervisor reports the run's id.
const (
	SupervisorEnv = "_SANDBOX_SUPERVISOR"
	ReadyFD       = 3
)

// Lifecycle is what a run is known by and where its output goes.
type Lifecycle struct {
	Name string
	// Detached: the run's `sandbox` process is a background supervisor;
	// its output goes to the log only.
	Detached bool
	// Log keeps a log of a foreground run too (--log), beside its output.
	Log bool
	// LogMax is the log's size cap (0: runs.DefaultLogMax).
	LogMax int64
	// Ephemeral runs are not joined by `sandbox shell`.
	Ephemeral bool
	// Started, if set, is called with the run's id once its payload runs.
	Started func(id string)
}

func (o RunOptions) runInfo() runs.Info {
	l := o.Lifecycle
	info := runs.Info{
		PID: os.Getpid(), Project: o.Project, Args: o.Spec.Process.Args, Started: time.Now(),
		Name: l.Name, Detached: l.Detached, Ephemeral: l.Ephemeral, Keep: l.Detached || l.Log || l.Name != "",
		Shell: host.Lookup(o.Spec.Process.Env, "SHELL"),
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
	return func() { l.Started(rec.ID()) }
}

// startLog sends the payload's output to the run's log (runs.StartLog)
// when the run keeps one: a detached run, or --log.
func (l Lifecycle) startLog(state string, stdout, stderr *os.File) (o, e *os.File, done func(), err error) {
	if !l.Log && !l.Detached {
		return stdout, stderr, func() {}, nil
	}
	return runs.StartLog(filepath.Join(state, runs.LogFile), l.LogMax, l.Detached, stdout, stderr)
}

// record is this run's live record and its control socket, which says
// whether a stop ended the run.
type record struct {
	*runs.Record
	ctl *controller
}

// register sweeps the records of dead runs and writes this run's.
func register(info runs.Info) (*record, error) {
	r, err := runs.Register(info)
	if err != nil {
		return nil, err
	}
	return &record{Record: r}, nil
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
	r.Finish(runs.ExitInfo{
		Code: code, Ended: time.Now(), DurationMS: res.Duration.Milliseconds(),
		TimedOut: res.TimedOut, OOMKilled: res.OOMKilled, Stopped: r.ctl != nil && r.ctl.stopped,
	})
}
