package sandbox

import (
	"os"

	"golang.org/x/sys/unix"
)

// forwardedSignals reach the payload when sent to `sandbox` (parent) and
// from there to init. SIGURG is left alone: the Go runtime uses it for
// preemption. SIGWINCH is a resize in terminal mode instead.
var forwardedSignals = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
}
