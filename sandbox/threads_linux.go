package sandbox

import (
	"runtime"
	"sync"
)

// spareThreads is how many idle OS threads init keeps for its own use
// under a pids.max of pidsMax (0: none): 8, fewer under a tight limit,
// which they would eat into (init itself runs ~10 threads), none under
// one of 24 or less.
func spareThreads(pidsMax int) int {
	if pidsMax == 0 {
		return 8
	}
	return min(8, max(0, (pidsMax-24)/2))
}

// reserveThreads makes the Go runtime create n threads now and keep them
// idle. Init lives in the run's cgroup: once a fork bomb in the payload has
// used up pids.max, the kernel refuses init a new thread (EAGAIN), and the
// runtime treats that as fatal ("failed to create new OS thread"), ending
// the sandbox with a crash instead of a pids-limit report. The runtime
// takes an idle thread before it makes a new one, and never frees idle
// ones, so threads made here serve init for the rest of the run.
func reserveThreads(n int) {
	var locked, release sync.WaitGroup
	locked.Add(n)
	release.Add(1)
	for range n {
		go func() {
			runtime.LockOSThread() // one thread each, while all are held
			locked.Done()
			release.Wait()
			runtime.UnlockOSThread() // back to the runtime's idle list
		}()
	}
	locked.Wait()
	release.Done()
}
