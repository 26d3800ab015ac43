package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

func TestNamespacesAreNew(t *testing.T) {
	p := newProject(t)
	names := []string{"user", "mnt", "pid", "ipc", "uts", "net", "cgroup"}
	host := nsLinks(t, "self", names)
	args := []string{"run", "--", "readlink"}
	for _, n := range names {
		args = append(args, "/proc/self/ns/"+n)
	}
	inside := strings.Fields(p.output(t, args...))
	if len(inside) != len(names) {
		t.Fatalf("readlink printed %q", inside)
	}
	for i, n := range names {
		if inside[i] == host[i] {
			t.Errorf("%s namespace is the host's: %s", n, host[i])
		}
	}
}

func TestShellPTY(t *testing.T) {
	p := newProject(t)
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("shell = \"/bin/bash\"\n[env]\nPS1 = \"PROMPT$ \"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := p.command("shell")
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	out := readAll(master)
	at := out.waitFor(t, 0, "$ ")

	send := func(s string) { t.Helper(); master.Write([]byte(s)) }
	send("tty; stty size; echo ctty-$$\n")
	at = out.waitFor(t, at, "/dev/pts/0")
	at = out.waitFor(t, at, "30 100")

	// A resize reaches the shell (SIGWINCH, new size on its PTY): the
	// shell polls its size until it is the new one.
	if err := pty.Setsize(master, &pty.Winsize{Rows: 20, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	send("until stty size | grep -qx '2[0] 80'; do sleep 0.01; done; echo resized-$((6*7))\n")
	at = out.waitFor(t, at, "resized-42")

	// Job control: Ctrl-Z stops the foreground job, fg resumes it, Ctrl-C
	// ends it and only it: the shell is still there. Each key is sent once
	// the job is in the state it acts on.
	// An argument no other run has, matched exactly, on the exec'd sleep.
	arg := fmt.Sprintf("300.%d%d", os.Getpid(), time.Now().UnixNano())
	job := "sleep " + arg
	send(job + "\n")
	var pid int
	waitUntil(t, patience, "the job runs", func() bool {
		pids := processesRunning("sleep", arg)
		if len(pids) > 0 {
			pid = pids[0]
		}
		return pid != 0
	})
	send("\x1a")
	at = out.waitFor(t, at, "Stopped")
	send("fg\n")
	at = out.waitFor(t, at, job)
	waitUntil(t, patience, "the job runs again", func() bool { return procState(pid) != 'T' })
	send("\x03")
	send("echo alive-$((40+2))\n")
	at = out.waitFor(t, at, "alive-42")

	send("exit 7\n")
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
		t.Fatalf("shell exit = %v, want status 7; output:\n%s", err, out.String())
	}
}

func TestTerminalRestored(t *testing.T) {
	p := newProject(t)
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
	go io.Copy(io.Discard, master)
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--", "true"},
		{"run", "--", "sh", "-c", "exit 3"},
		{"run", "--", "sh", "-c", "kill -9 $$"},
		{"run", "--", "no-such-command"},
	} {
		cmd := p.command(args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		_ = cmd.Run()
		after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if *after != *before {
			t.Errorf("after %v the terminal settings changed:\nbefore %+v\nafter  %+v", args, *before, *after)
		}
	}
}

func TestSignalsReachPayload(t *testing.T) {
	p := newProject(t)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH} {
		name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
		t.Run(name, func(t *testing.T) {
			script := fmt.Sprintf(`trap 'echo got-%s; exit 3' %s; echo ready; while :; do sleep 0.05; done`, name, name)
			cmd := p.command("run", "--", "sh", "-c", script)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			out := readAll(stdout)
			out.waitFor(t, 0, "ready")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			out.waitFor(t, 0, "got-"+name)
			err := cmd.Wait()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
				t.Errorf("exit = %v, want status 3", err)
			}
		})
	}
}

// A SIGTERM at any moment of a run's start ends it as the payload's
// would, soon: 143 (or, before the CLI catches signals, by SIGTERM). Sent before init caught signals, it once was lost (the
// payload ran to its end: exit 0) or ended the run 125 (review 18b, F1).
func TestEarlySignalEndsTheRun(t *testing.T) {
	p := newProject(t)
	for i := range 16 {
		cmd := p.command("run", "--", "sleep", "30")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i) * 5 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			// Before the CLI catches signals, SIGTERM ends it (the shell
			// says 143 for both); init then dies with it.
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !(ws.Exited() && ws.ExitStatus() == 143) && !(ws.Signaled() && ws.Signal() == syscall.SIGTERM) {
				t.Errorf("SIGTERM %v after the start: exit = %v, want status 143 or death by SIGTERM", time.Since(start).Round(time.Millisecond), err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("SIGTERM %d ms after the start was lost: the run went on", i*5)
		}
	}
}

// A resize (SIGWINCH) at any moment of a run's start is no signal to end
// it: the payload runs and its status is the run's (review 18c, F1: 156).
func TestEarlyResizeDoesNotEndTheRun(t *testing.T) {
	p := newProject(t)
	for i := range 16 {
		cmd := p.command("run", "--", "sh", "-c", "sleep 0.2; echo ran")
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The Go runtime ignores SIGWINCH until the CLI catches it: send
		// it from the first moment on.
		time.Sleep(time.Duration(i) * 5 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGWINCH)
		if err := cmd.Wait(); err != nil || out.String() != "ran\n" {
			t.Errorf("SIGWINCH %d ms after the start: %v, %q; want the payload's status 0 and its output", i*5, err, out.String())
		}
	}
}

func TestDieWithParent(t *testing.T) {
	p := newProject(t)
	// Two sleeps with arguments no other run has (this process's pid and
	// the time), found as whole words: "4242.N1" must not find another
	// run's "4242.N12".
	unique := fmt.Sprintf("4242.%d%d", os.Getpid(), time.Now().UnixNano())
	first, second := unique+"1", unique+"2"
	mountsBefore, _ := os.ReadFile("/proc/self/mountinfo")
	cmd := p.command("run", "--", "sh", "-c", "sleep "+first+" & sleep "+second+"; wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	// Whatever fails below, neither the run nor its payload outlives the
	// test to be found by the next one.
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waited
		for _, pid := range processesWithWord(first, second) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	})
	// Only the sleeps themselves count: a child of sandbox or sh that is
	// forked but not yet exec'd shows its parent's command line, which
	// holds both words.
	waitUntil(t, patience, "both sleeps of the payload run", func() bool {
		return len(processesRunning("sleep", first)) == 1 && len(processesRunning("sleep", second)) == 1
	})
	if ps := p.output(t, "ps"); !strings.Contains(ps, "sleep "+first) {
		t.Errorf("sandbox ps does not list the run:\n%s", ps)
	}
	killed := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-waited
	for len(processesWithWord(first, second)) > 0 && time.Since(killed) < patience {
		time.Sleep(5 * time.Millisecond)
	}
	if left := processesWithWord(first, second); len(left) > 0 {
		t.Fatalf("processes %v survived the SIGKILL of sandbox", left)
	}
	if d := time.Since(killed); d > time.Second {
		t.Errorf("the sandbox's processes took %v to die, want under a second", d)
	}
	// Other test binaries may mount meanwhile (ip netns); what must not
	// appear is a mount of this run's.
	mountsAfter, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mountsAfter), "\n") {
		if !bytes.Contains(mountsBefore, []byte(line)) && (strings.Contains(line, filepath.Dir(p.dir)) || strings.Contains(line, "newroot") || strings.Contains(line, "oldroot")) {
			t.Errorf("a mount of the sandbox is left on the host: %s", line)
		}
	}
	// The dead run's state record goes at the next look, and nothing else
	// is left in the run-state directory.
	if ps := p.output(t, "ps"); strings.Contains(ps, first) {
		t.Errorf("sandbox ps still lists the killed run:\n%s", ps)
	}
	left, _ := filepath.Glob(filepath.Join(p.runtime, "sandbox", "runs", "*"))
	if len(left) > 0 {
		t.Errorf("run state left behind: %v", left)
	}
}

func TestPipesByteExact(t *testing.T) {
	p := newProject(t)
	total := int64(5 << 30)
	if testing.Short() {
		total = 256 << 20
	}
	cmd := p.command("run", "--", "yes")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("y\n"), 32<<10)
	buf := make([]byte, len(want))
	var n int64
	var peakKB int
	for n < total {
		if _, err := io.ReadFull(stdout, buf); err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("corrupt output after %d bytes", n)
		}
		n += int64(len(buf))
		if n%(512<<20) == 0 {
			peakKB = max(peakKB, vmHWM(cmd.Process.Pid))
		}
	}
	stdout.Close()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 128+int(syscall.SIGPIPE) {
		t.Errorf("yes ended with %v, want SIGPIPE (141)", err)
	}
	t.Logf("%d bytes intact; sandbox peak RSS %d KiB", n, peakKB)
	if peakKB > 64<<10 {
		t.Errorf("sandbox peak RSS %d KiB: memory grows with the output", peakKB)
	}
}

func TestConcurrentRunsHavePrivateTmp(t *testing.T) {
	p := newProject(t)
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	// Each run writes its /tmp, then waits (polling the project directory,
	// which they share, for at most 10 s) until all three have, so that
	// they overlap, then reads its /tmp.
	barrier := `touch wrote-$0; n=0; until [ "$(ls wrote-* | wc -l)" = 3 ]; do [ $n = 1000 ] && exit 9; n=$((n+1)); sleep 0.01; done`
	for _, name := range []string{"first", "second", "third"} {
		cmd := p.command("run", "--", "sh", "-c", "echo $0 > /tmp/who; "+barrier+"; cat /tmp/who; ls /tmp", name)
		out := &bytes.Buffer{}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	for i, name := range []string{"first", "second", "third"} {
		lines := strings.Fields(outs[i].String())
		if len(lines) < 1 || lines[0] != name {
			t.Errorf("run %q read %q from its /tmp", name, outs[i].String())
		}
	}
}

func TestHostSocketsAbsent(t *testing.T) {
	p := newProject(t)
	sockPath := filepath.Join(p.runtime, "agent.sock")
	abstract := "@sandbox-test-" + strconv.Itoa(os.Getpid())
	for _, addr := range []string{sockPath, abstract} {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
			t.Fatal(err)
		}
		if err := unix.Listen(fd, 1); err != nil {
			t.Fatal(err)
		}
	}
	cmd := p.command("run", "--", "sh", "-c", "test -e "+sockPath+" && echo path-visible; grep -c sandbox-test /proc/net/unix || true; echo done")
	cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+sockPath)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != "0\ndone\n" {
		t.Errorf("inside the sandbox: %q, want neither the socket path nor the abstract socket visible", got)
	}
}

func TestNoTerminalInjection(t *testing.T) {
	p := newProject(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(p.dir, "tiocsti")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(helper, data, 0o755); err != nil {
		t.Fatal(err)
	}
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
	out := readAll(master)
	// Pipe mode on a terminal: the payload gets pipes, never the terminal,
	// and has no controlling terminal, so TIOCSTI cannot reach the user's
	// shell. In PTY mode it only reaches the sandbox's own PTY.
	for _, args := range [][]string{{"run", "-T", "--", "./tiocsti"}, {"run", "-T", "--", "sh", "-c", "./tiocsti </dev/tty"}} {
		cmd := p.command(args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		_ = cmd.Run()
	}
	// The terminal delivers what was written to it in order: once a line
	// written after the runs arrives, so has all they wrote.
	if _, err := tty.WriteString("end-of-runs\n"); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, 0, "end-of-runs")
	got := out.String()
	// The seccomp filter answers EPERM before the kernel's ENOTTY (no
	// controlling terminal); with seccomp = "off" the latter protects.
	if !strings.Contains(got, "tiocsti: operation not permitted") {
		t.Errorf("the helper did not report EPERM:\n%s", got)
	}
	if strings.Contains(got, "tiocsti: injected") {
		t.Errorf("TIOCSTI succeeded in pipe mode:\n%s", got)
	}
	// Without the filter, pipe mode alone keeps the terminal out of reach.
	p.profile(t, "[security]\nseccomp = \"off\"\n")
	cmd := p.command("run", "-T", "--", "./tiocsti")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	_ = cmd.Run()
	out.waitFor(t, len(got), "tiocsti: inappropriate ioctl")
	// What is left unread on the terminal's input side would run in the
	// user's shell after sandbox exits.
	if n, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCINQ); err != nil || n > 0 {
		t.Errorf("%d bytes were injected into the user's terminal (%v)", n, err)
	}
}

// A run that fails before it starts leaves no run state behind.
func TestFailedRunLeavesNoState(t *testing.T) {
	p := newProject(t)
	cmd := p.command("run", "--mount", filepath.Join(p.dir, "missing")+":/mnt/x", "--", "true")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "does not exist") {
		t.Fatalf("run with a missing mount source: %v\n%s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(p.runtime, "sandbox", "runs", "*")); len(left) > 0 {
		t.Errorf("run state left behind: %v", left)
	}
}
