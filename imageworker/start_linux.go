package imageworker

import (
	"os/exec"
	"runtime"
	"syscall"
)

// startLocked starts cmd from a goroutine that keeps its OS thread locked
// until the child is reaped: Pdeathsig fires when the thread that forked
// the child exits, not the process. (The same as package sandbox's, which
// starts init so; the worker is not part of a run.)
func startLocked(cmd *exec.Cmd) (<-chan syscall.WaitStatus, error) {
	started := make(chan error, 1)
	done := make(chan syscall.WaitStatus, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		done <- cmd.ProcessState.Sys().(syscall.WaitStatus)
	}()
	return done, <-started
}
