package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"sandbox/cgroup"
	"sandbox/internal/testenv"
)

// psEntry is what the tests read of `ps --json`.
type psEntry struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	PID    int      `json:"pid"`
	Status string   `json:"status"`
	Ports  []string `json:"ports"`
	Cgroup string   `json:"cgroup"`
	Exit   *struct {
		Code    int  `json:"exit_code"`
		Stopped bool `json:"stopped"`
	} `json:"exit"`
}

func (p *project) ps(t *testing.T) []psEntry {
	t.Helper()
	var runs []psEntry
	if err := jsonUnmarshal(p.output(t, "ps", "-a", "--json"), &runs); err != nil {
		t.Fatal(err)
	}
	return runs
}

// detach starts a detached run and returns its id; the run is stopped at
// the end of the test.
func (p *project) detach(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := p.run(t, append([]string{"run", "-d"}, args...)...)
	id := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("run -d: code %d, stdout %q, stderr %q; want an id", code, out, errOut)
	}
	t.Cleanup(func() { p.run(t, "stop", "-t", "0", id) })
	return id
}

// poll calls f until it returns true, failing after 15 s.
func poll(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !f(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestDetachedRunLogsExecStopRm(t *testing.T) {
	p := newProject(t)
	id := p.detach(t, "--name", "web", "--", "sh", "-c",
		`echo secret > /tmp/private; i=0; while :; do i=$((i+1)); echo line $i; echo err $i >&2; sleep 0.05; done`)

	// logs: stdout and stderr apart; a prefix of the id names the run.
	poll(t, "the log to hold line 3", func() bool {
		out, errOut, _ := p.run(t, "logs", id[:5])
		return strings.Contains(out, "line 3\n") && strings.Contains(errOut, "err 3\n") && !strings.Contains(out, "err")
	})
	if out := p.output(t, "logs", "--tail", "2", "--timestamps", "web"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT[0-9:.]+Z line \d+\n$`).MatchString(out) {
		t.Errorf("logs --tail 2 --timestamps = %q", out)
	}
	follow := p.command("logs", "-f", "web")
	stdout, _ := follow.StdoutPipe()
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followed := readAll(stdout)
	at := followed.waitFor(t, 0, "line 1\n")
	last := strings.Count(p.output(t, "logs", "web"), "\n")
	followed.waitFor(t, at, "line "+strconv.Itoa(last+5)+"\n") // new lines keep coming

	// ps lists it running, with its name.
	runs := p.ps(t)
	if len(runs) != 1 || runs[0].ID != id || runs[0].Name != "web" || runs[0].Status != "running" {
		t.Fatalf("ps -a --json = %+v, want web running", runs)
	}
	// A second live run cannot take the name.
	if _, errOut, code := p.run(t, "run", "-d", "--name", "web", "--", "true"); code != 125 || !strings.Contains(errOut, id) {
		t.Errorf("second run named web: code %d, stderr %q; want 125 naming %s", code, errOut, id)
	}

	// exec joins it: its private /tmp, its pid namespace (the payload is
	// visible, init is pid 1), and exit codes come back.
	if out := p.output(t, "exec", "web", "--", "cat", "/tmp/private"); out != "secret\n" {
		t.Errorf("exec cat /tmp/private = %q", out)
	}
	procs := p.output(t, "exec", id, "--", "sh", "-c", `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < $f; echo; done; readlink /proc/self/ns/pid`)
	if !strings.Contains(procs, "echo secret > /tmp/private") || !strings.Contains(procs, "--sandbox-init") {
		t.Errorf("exec does not see the run's processes:\n%s", procs)
	}
	if hostPid := nsLinks(t, "self", []string{"pid"})[0]; strings.Contains(procs, hostPid) {
		t.Errorf("exec runs in the host's pid namespace %s", hostPid)
	}
	for _, tt := range []struct {
		args []string
		code int
	}{{[]string{"true"}, 0}, {[]string{"sh", "-c", "exit 3"}, 3}, {[]string{"no-such-command"}, 127}, {[]string{"sh", "-c", "kill -INT $$"}, 130}} {
		if _, errOut, code := p.run(t, append([]string{"exec", "web", "--"}, tt.args...)...); code != tt.code {
			t.Errorf("exec %v: code %d, want %d (stderr %q)", tt.args, code, tt.code, errOut)
		}
	}
	if out := p.output(t, "exec", "-u", "root", "-w", "/tmp", "-e", "K=v", "web", "--", "sh", "-c", "id -u; pwd; echo $K"); out != "0\n/tmp\nv\n" {
		t.Errorf("exec -u root -w /tmp -e K=v = %q", out)
	}
	// Ctrl-C at the exec client reaches the process: 130.
	// (The marker is made inside, so that it is not in the client's argv.)
	n := 700000 + os.Getpid()
	sleeper := p.command("exec", "web", "--", "sh", "-c", "exec sleep $(("+strconv.Itoa(n)+"+1))")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	poll(t, "the exec'd sleep", func() bool { return len(processesWith("sleep "+strconv.Itoa(n+1))) > 0 })
	sleeper.Process.Signal(syscall.SIGINT)
	if code := exitCodeOf(sleeper.Wait()); code != 130 {
		t.Errorf("exec interrupted: code %d, want 130", code)
	}

	// Attack: a sandbox must not reach a run's control socket (which
	// would let it start processes in another, maybe less confined run):
	// the runtime directory is not visible inside, not even to exec.
	ctl := filepath.Join(p.runtime, "sandbox", "state", id, "ctl.sock")
	if _, err := os.Stat(ctl); err != nil {
		t.Fatalf("the control socket is not where the attack looks: %v", err)
	}
	probe := "test -e " + ctl + " && echo visible; ls " + filepath.Join(p.runtime, "sandbox") + " 2>/dev/null; echo done"
	if out := p.output(t, "run", "--", "sh", "-c", probe); out != "done\n" {
		t.Errorf("another sandbox sees the run's state: %q", out)
	}
	if out := p.output(t, "exec", "web", "--", "sh", "-c", probe); out != "done\n" {
		t.Errorf("exec sees the run's state: %q", out)
	}

	// A PTY exec through a real terminal.
	tcmd := p.command("exec", "web", "--", "sh", "-c", "tty; stty size; echo done-$((6*7))")
	master, err := pty.StartWithSize(tcmd, &pty.Winsize{Rows: 33, Cols: 99})
	if err != nil {
		t.Fatal(err)
	}
	tout := readAll(master)
	tat := tout.waitFor(t, 0, "/dev/pts/")
	tat = tout.waitFor(t, tat, "33 99")
	tout.waitFor(t, tat, "done-42")
	if err := tcmd.Wait(); err != nil {
		t.Errorf("PTY exec: %v; output %q", err, tout.String())
	}
	master.Close()

	// stop ends it and records the status; logs -f ends with it.
	if out := p.output(t, "stop", "-t", "5", "web"); strings.TrimSpace(out) != id {
		t.Errorf("stop printed %q", out)
	}
	runs = p.ps(t)
	if len(runs) != 1 || runs[0].Status != "exited" || runs[0].Exit == nil || runs[0].Exit.Code != 143 || !runs[0].Exit.Stopped {
		t.Errorf("after stop, ps -a --json = %+v; want exited 143, stopped", runs)
	}
	if code := exitCodeOf(follow.Wait()); code != 143 {
		t.Errorf("logs -f exited %d, want the run's 143", code)
	}
	if left := processesWith("echo secret > /tmp/private"); len(left) > 0 {
		t.Errorf("processes left after stop: %v", left)
	}
	if _, errOut, code := p.run(t, "exec", "web", "--", "true"); code != 125 || !strings.Contains(errOut, "not running") {
		t.Errorf("exec into a stopped run: code %d, stderr %q", code, errOut)
	}
	// rm forgets it, log and all.
	if out := p.output(t, "rm", "web"); strings.TrimSpace(out) != id {
		t.Errorf("rm printed %q", out)
	}
	if runs := p.ps(t); len(runs) != 0 {
		t.Errorf("after rm, ps -a = %+v", runs)
	}
	if _, _, code := p.run(t, "logs", id); code != 125 {
		t.Errorf("logs of a removed run: code %d, want 125", code)
	}
	if entries, _ := os.ReadDir(filepath.Join(p.runtime, "sandbox", "state")); len(entries) != 0 {
		t.Errorf("state left after rm: %v", entries)
	}
}

func TestForegroundLog(t *testing.T) {
	p := newProject(t)
	out, _, code := p.run(t, "run", "--log", "--name", "fg", "--", "sh", "-c", "echo out; echo err >&2; printf tail; exit 4")
	if code != 4 || out != "out\ntail" {
		t.Fatalf("run --log: code %d, stdout %q", code, out)
	}
	if out, errOut, _ := p.run(t, "logs", "fg"); out != "out\ntail" || errOut != "err\n" {
		t.Errorf("logs fg = %q / %q", out, errOut)
	}
	if runs := p.ps(t); len(runs) != 1 || runs[0].Exit == nil || runs[0].Exit.Code != 4 {
		t.Errorf("ps -a --json = %+v, want fg exited 4", runs)
	}
	// A plain foreground run keeps nothing.
	p.output(t, "run", "--", "true")
	if runs := p.ps(t); len(runs) != 1 {
		t.Errorf("a plain run left a record: %+v", runs)
	}
	p.output(t, "rm", "--exited")
	if runs := p.ps(t); len(runs) != 0 {
		t.Errorf("after rm --exited: %+v", runs)
	}
}

// A detached run whose supervisor is SIGKILLed leaves no process, helper,
// mount or cgroup; while it lived, a second run asking for its port was
// told which run holds it.
func TestDetachedSupervisorKilled(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.IsolatedNet, testenv.Tool("pasta"))
	toml := "[network]\nmode = \"slirp\"\nbackend = \"pasta\"\nports = [\"127.0.0.1:18133:80\"]\n"
	// The cgroup part runs where cgroup v2 is delegated; the VM test
	// (TestCgroupVMDetachedSupervisorKilled) covers it on hybrid hosts.
	withCgroup := cgroupDelegated()
	if withCgroup {
		toml += "[limits]\nmemory = \"512MiB\"\npids = 100\n"
	}
	t.Logf("with a cgroup: %v", withCgroup)
	p.write(t, "sandbox.toml", toml)
	marker := strconv.Itoa(800000 + os.Getpid())
	id := p.detach(t, "--", "sh", "-c", "exec sleep $(("+marker+"+1))")
	marker = "sleep " + strconv.Itoa(800000+os.Getpid()+1)
	poll(t, "the payload", func() bool { return len(processesWith(marker)) == 1 })
	runs := p.ps(t)
	if len(runs) != 1 || runs[0].PID == 0 {
		t.Fatalf("ps = %+v", runs)
	}
	run := runs[0]
	if _, errOut, code := p.run(t, "run", "--", "true"); code != 125 || !strings.Contains(errOut, "18133") || !strings.Contains(errOut, id) {
		t.Errorf("a second run on the same port: code %d, stderr %q; want 125 naming %s", code, errOut, id)
	}
	if withCgroup {
		if _, err := os.Stat(run.Cgroup); run.Cgroup == "" || err != nil {
			t.Errorf("the run's cgroup %q: %v", run.Cgroup, err)
		}
	}
	mountsBefore, _ := os.ReadFile("/proc/self/mountinfo")
	if err := syscall.Kill(run.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, "the payload to die with its supervisor", func() bool { return len(processesWith(marker)) == 0 })
	poll(t, "the network helper to go", func() bool { return len(processesWith("18133")) == 0 })
	runs = p.ps(t) // the next look sweeps what a dead supervisor left
	if len(runs) != 1 || runs[0].Status != "lost" {
		t.Errorf("after the SIGKILL, ps -a = %+v; want the run lost", runs)
	}
	if withCgroup {
		if _, err := os.Stat(run.Cgroup); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the run's cgroup %s is left: %v", run.Cgroup, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(p.runtime, "sandbox", "runs", "*")); len(left) > 0 {
		t.Errorf("run state left behind: %v", left)
	}
	mountsAfter, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mountsAfter), "\n") {
		if !strings.Contains(string(mountsBefore), line) && strings.Contains(line, filepath.Dir(p.dir)) {
			t.Errorf("a mount of the run is left on the host: %s", line)
		}
	}
	if left := processesWith("--sandbox-init"); len(left) > 0 {
		for _, pid := range left {
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); strings.Contains(string(b), "PPid:\t"+strconv.Itoa(run.PID)+"\n") {
				t.Errorf("the run's init %d survived", pid)
			}
		}
	}
	// The port is free again.
	if out, errOut, code := p.run(t, "run", "--", "true"); code != 0 {
		t.Errorf("a run on the freed port: code %d %q %q", code, out, errOut)
	}
}

// shell in a project whose image sandbox runs joins it and sees the
// files it has not committed.
func TestShellJoinsRunningImageSandbox(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	p.write(t, "sandbox.toml", "image = \""+ref+"\"\nshell = \"/bin/sh\"\ninsecure_registries = [\""+strings.Split(ref, "/")[0]+"\"]\n")
	id := p.detach(t, "--", "sh", "-c", "echo uncommitted > /root/mark; exec sleep 1000")
	poll(t, "the run's file", func() bool {
		out, _, _ := p.run(t, "exec", id, "--", "cat", "/root/mark")
		return out == "uncommitted\n"
	})
	cmd := p.command("shell")
	cmd.Stdin = strings.NewReader("cat /root/mark; echo pid1=$(cat /proc/1/comm)\nexit 5\n")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code := exitCodeOf(cmd.Run())
	if code != 5 || !strings.Contains(out.String(), "uncommitted") || !strings.Contains(out.String(), "pid1=sandbox-init") || !strings.Contains(errOut.String(), id) {
		t.Errorf("shell: code %d, stdout %q, stderr %q; want 5, the run's file and init, joining %s", code, out.String(), errOut.String(), id)
	}
	// run (not shell) still refuses the busy sandbox.
	if _, errOut, code := p.run(t, "run", "--", "true"); code != 125 || !strings.Contains(errOut, "in use") {
		t.Errorf("run beside it: code %d, stderr %q", code, errOut)
	}
}

func cgroupDelegated() bool {
	d, err := cgroup.Detect()
	return err == nil && cgroup.Check(d, cgroup.Limits{MemoryMax: 1, PidsMax: 1}) == nil
}

// A named detached run on an image with setup steps: the steps are no runs
// of their own (no record, no name, no early "started").
func TestDetachedRunWithSetupSteps(t *testing.T) {
	_, ref := pushBusybox(t)
	p := newProject(t)
	p.write(t, "sandbox.toml", setupProfile(ref, "cat $PWD/deps.txt > /opt/deps"))
	p.write(t, "deps.txt", "v1\n")
	id := p.detach(t, "--name", "built", "--", "sh", "-c", "cat /opt/deps; exec sleep 1000")
	poll(t, "the run's output", func() bool {
		out, _, _ := p.run(t, "logs", "built")
		return out == "v1\n"
	})
	if runs := p.ps(t); len(runs) != 1 || runs[0].ID != id || runs[0].Status != "running" {
		t.Errorf("ps -a = %+v, want only the run", runs)
	}
}

// TestStopAForegroundRun: `sandbox stop` of a run that is not kept (no
// --name, --detach or --log) stops it and succeeds; it used to say "no
// sandbox run" once the run had taken its state directory with it, and
// the run now leaves no exit.json behind to be found (issue 18).
func TestStopAForegroundRun(t *testing.T) {
	p := newProject(t)
	n := 810000 + os.Getpid()
	run := p.command("run", "--", "sh", "-c", "exec sleep $(("+strconv.Itoa(n)+"+1))")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Process.Kill(); run.Wait() })
	var id string
	poll(t, "the run in ps", func() bool {
		for _, r := range p.ps(t) {
			if r.Status == "running" {
				id = r.ID
			}
		}
		return id != ""
	})
	poll(t, "the run's sleep", func() bool { return len(processesWith("sleep "+strconv.Itoa(n+1))) > 0 })
	if out, errOut, code := p.run(t, "stop", "-t", "5", id); code != 0 || strings.TrimSpace(out) != id {
		t.Errorf("stop %s: code %d, stdout %q, stderr %q; want its id", id, code, out, errOut)
	}
	if code := exitCodeOf(run.Wait()); code != 143 {
		t.Errorf("the stopped run exited %d, want 143", code)
	}
	if runs := p.ps(t); len(runs) != 0 {
		t.Errorf("a run that is not kept left %+v", runs)
	}
}
