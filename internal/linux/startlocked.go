package linux

import (
	"os/exec"
	"runtime"
	"syscall"
)

// StartLocked starts cmd from a goroutine that keeps its OS thread locked
// until the child is reaped, and returns the child's wait status when it
// is: Pdeathsig fires when the thread that forked the child exits, not
// the process (the sandbox's init, the image worker).
func StartLocked(cmd *exec.Cmd) (<-chan syscall.WaitStatus, error) {
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
