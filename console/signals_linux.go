package console

import (
	"os"

	"golang.org/x/sys/unix"
)

// ForwardedSignals are the signals the user's side passes on to a
// sandbox's process: sent to `sandbox` (run or exec), they go to init and
// from there to the payload or the exec'd process. SIGURG is left alone:
// the Go runtime uses it for preemption. SIGWINCH is a resize in terminal
// mode instead.
var ForwardedSignals = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
}
