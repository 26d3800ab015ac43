package slirp

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pasta daemonizes and joins the sandbox's user namespace, which clears
// any parent-death signal, and it does not quit when the sandbox's
// processes are gone. So a watchdog, a small process of ours started
// before pasta, holds a pipe from the parent. A clean Close writes "q" and
// the watchdog leaves; if the pipe just closes (`sandbox` was SIGKILLed),
// it stops the pasta that wrote the pid file, which it identifies by that
// file's path on pasta's command line and signals through a pidfd, so a
// recycled pid is never hit.

// watch starts cmd (the sandbox binary's watchdog stage) for pidFile.
func watch(cmd *exec.Cmd, pidFile string) (release func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd.Args = append(cmd.Args, pidFile)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	return func() {
		w.Write([]byte("q"))
		w.Close()
		cmd.Wait()
	}, nil
}

// Watchdog is the watchdog's main; pidFile is its argument.
func Watchdog(pidFile string) {
	b := make([]byte, 1)
	if n, _ := os.Stdin.Read(b); n == 1 && b[0] == 'q' {
		return
	}
	deadline := time.Now().Add(2 * time.Second) // pasta may still be starting
	for time.Now().Before(deadline) {
		if pid := ownerOf(pidFile); pid > 0 {
			stopPid(pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ownerOf returns the pid in pidFile if that process names pidFile on its
// command line (it is the pasta we started), else 0.
func ownerOf(pidFile string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte(pidFile)) {
		return 0
	}
	return pid
}

// stopPid sends SIGTERM through a pidfd, then SIGKILL after a second.
func stopPid(pid int) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(pidfd)
	if unix.PidfdSendSignal(pidfd, unix.SIGTERM, nil, 0) != nil {
		return
	}
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, 1000); n == 0 {
		_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	}
}
