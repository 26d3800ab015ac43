// Package testenv gates tests on what the host offers. A requirement is
// probed by trying it once per test binary; a missing one skips the test
// with the reason, or fails it when SANDBOX_TEST_REQUIRE_ALL=1 (CI), so
// that a suite cannot pass by skipping.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"sandbox/userns"
)

// Requirement is something a test needs from the host.
type Requirement struct {
	name  string
	probe func() error
}

// The requirements tests can name.
var (
	// Unprivileged: the test runs as an ordinary user, as sandbox does.
	Unprivileged = Requirement{"an unprivileged user (make test runs the suite as one)", sync.OnceValue(func() error {
		if os.Getuid() == 0 {
			return errors.New("running as root")
		}
		return nil
	})}
	// UserNS: this user may create user namespaces.
	UserNS = Requirement{"unprivileged user namespaces", sync.OnceValue(func() error {
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		return cmd.Run()
	})}
	// NewIDMap: newuidmap/newgidmap and a subordinate range for this user.
	NewIDMap = Requirement{"newuidmap/newgidmap and a subuid/subgid range", sync.OnceValue(func() error {
		u, err := user.Current()
		if err != nil {
			return err
		}
		m, err := userns.NewMapping(u.Username, os.Getuid(), os.Getgid())
		if err != nil {
			return err
		}
		if m.Degraded != "" {
			return errors.New(m.Degraded)
		}
		return nil
	})}
)

// Tool requires a program on PATH.
func Tool(name string) Requirement {
	return Requirement{"the program " + name, func() error {
		_, err := exec.LookPath(name)
		return err
	}}
}

// Check reports whether all requirements hold, and the first that does not.
func Check(reqs ...Requirement) error {
	for _, r := range reqs {
		if err := r.probe(); err != nil {
			return fmt.Errorf("requires %s: %v", r.name, err)
		}
	}
	return nil
}

// RequireAll reports whether SANDBOX_TEST_REQUIRE_ALL is set.
func RequireAll() bool {
	v, _ := strconv.ParseBool(os.Getenv("SANDBOX_TEST_REQUIRE_ALL"))
	return v
}

// Require skips t (fails it under SANDBOX_TEST_REQUIRE_ALL=1) unless every
// requirement holds.
func Require(t testing.TB, reqs ...Requirement) {
	t.Helper()
	if err := Check(reqs...); err != nil {
		if RequireAll() {
			t.Fatalf("%v (SANDBOX_TEST_REQUIRE_ALL=1 forbids skipping)", err)
		}
		t.Skip(err)
	}
}
