package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"sandbox/profiles"
	"sandbox/sandbox"
)

// lifecycleOptions are run's flags for detached, named and logged runs.
type lifecycleOptions struct {
	detach bool
	name   string
	log    bool
	logMax string
}

func (l *lifecycleOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVarP(&l.detach, "detach", "d", false, "run in the background: print the run's id and return; see sandbox ps, logs, exec, stop")
	f.StringVar(&l.name, "name", "", "name the run (unique among running ones) for ps, logs, exec, stop and rm")
	f.BoolVar(&l.log, "log", false, "keep the output in the run's log (sandbox logs) as well; detached runs always do")
	f.StringVar(&l.logMax, "log-max-size", "10MiB", "the log's size cap; past it the log is rotated once (at most twice this is kept)")
}

func (l *lifecycleOptions) lifecycle() (sandbox.Lifecycle, error) {
	if l.logMax == "" { // shell has no such flag
		l.logMax = "10MiB"
	}
	max, err := profiles.ParseSize(l.logMax)
	if err != nil || max < 4096 {
		return sandbox.Lifecycle{}, &usageError{err: fmt.Errorf("--log-max-size %q: want a size of at least 4KiB, e.g. 10MiB", l.logMax), cmd: "sandbox run"}
	}
	life := sandbox.Lifecycle{Name: l.name, Log: l.log, LogMax: max}
	if l.detach && os.Getenv(sandbox.SupervisorEnv) != "" {
		life.Detached = true
		life.Started = reportStarted
	}
	return life, nil
}

// beforeRun does what comes before a run of one's own: `shell` joins the
// project's running sandbox; `run -d` starts the supervisor and returns.
func (o *runOptions) beforeRun(project string, terminal *bool) (bool, error) {
	if o.shell && !o.ephemeral {
		if r, ok := runningFor(project); ok {
			if !reflect.ValueOf(o.overrides).IsZero() || o.file != "" {
				fmt.Fprintln(os.Stderr, "sandbox: warning: the profile and its flags do not apply: the shell joins the sandbox as it runs (--ephemeral starts one of its own)")
			}
			return true, joinShell(r)
		}
	}
	if !o.life.detach {
		return false, nil
	}
	if os.Getenv(sandbox.SupervisorEnv) == "" {
		if _, err := o.life.lifecycle(); err != nil {
			return true, err
		}
		return true, startSupervisor()
	}
	// The ready pipe must not leak into what we start.
	syscall.CloseOnExec(sandbox.ReadyFD)
	*terminal = false
	return false, nil
}

// startSupervisor starts this command again in the background, in a
// session of its own (so the terminal's hangup does not reach it, and
// nothing makes it die with us), and waits until it reports the run's id
// or fails. Its stderr is ours until then.
func startSupervisor() error {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	var st unix.Stat_t
	if err := unix.Fstat(int(readyW.Fd()), &st); err != nil {
		return err
	}
	cmd.Env = append(os.Environ(), sandbox.SupervisorEnv+"="+strconv.FormatUint(st.Ino, 10))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, errW
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	errW.Close()
	if err != nil {
		return fmt.Errorf("starting the run's supervisor: %w", err)
	}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(os.Stderr, errR); close(copied) }()
	id, _ := bufio.NewReader(readyR).ReadString('\n')
	readyR.Close()
	<-copied
	if id = strings.TrimSpace(id); id != "" {
		_ = cmd.Process.Release()
		fmt.Println(id)
		return nil
	}
	// It failed before its payload ran; it said why on our stderr.
	_ = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code <= 0 {
		code = sandbox.ExitSetup
	}
	return &sandbox.ExitError{Code: code}
}

// reportStarted, in the supervisor: the payload runs, so the run's id goes
// to the waiting `sandbox run -d`, and our stderr stops being its.
func reportStarted(id string) {
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		_ = unix.Dup3(int(null.Fd()), 2, 0)
		null.Close()
	}
	// Only into the pipe `run -d` gave us (fd 3 could be anything else
	// if it was lost on the way).
	var st unix.Stat_t
	if unix.Fstat(sandbox.ReadyFD, &st) != nil || strconv.FormatUint(st.Ino, 10) != os.Getenv(sandbox.SupervisorEnv) {
		return
	}
	ready := os.NewFile(sandbox.ReadyFD, "ready")
	fmt.Fprintln(ready, id)
	ready.Close()
}
