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
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/landlock"
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

// IsolatedNet: the test runs in a network namespace with no route off
// this machine (scripts/as-test-user makes one: its default route leads to
// a veth pair named sbxsink*, both ends inside), so a test may exercise
// egress paths without any packet leaving.
var IsolatedNet = Requirement{"a network namespace with no route off the machine (make test runs the suite in one)", sync.OnceValue(func() error {
	// /proc/net/dev is this network namespace's (sysfs may show another's).
	dev, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(dev), "\n")[2:] {
		name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && name != "lo" && !strings.HasPrefix(name, "sbxsink") {
			return fmt.Errorf("this network namespace has interface %s", name)
		}
	}
	for _, table := range []string{"/proc/net/route", "/proc/net/ipv6_route"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		if table == "/proc/net/route" {
			lines = lines[1:] // a header
		}
		for _, line := range lines {
			f := strings.Fields(line)
			if table == "/proc/net/route" && len(f) > 1 && f[1] == "00000000" && !strings.HasPrefix(f[0], "sbxsink") {
				return errors.New("this network namespace has a default route")
			}
			if table == "/proc/net/ipv6_route" && len(f) > 9 && strings.Trim(f[0], "0") == "" && f[1] == "00" && f[9] != "lo" {
				return errors.New("this network namespace has a default IPv6 route")
			}
		}
	}
	return nil
})}

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
			return fmt.Errorf("requires %s: %w", r.name, err)
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
		if RequireAll() && !errors.Is(err, ErrNoHardware) {
			t.Fatalf("%v (SANDBOX_TEST_REQUIRE_ALL=1 forbids skipping)", err)
		}
		t.Skip(err)
	}
}

// DebianImage: the Debian minbase OCI layout that scripts/test-images.sh
// builds (as root, once) and names in $SANDBOX_TEST_DEBIAN_OCI.
var DebianImage = Requirement{"the Debian minbase image ($SANDBOX_TEST_DEBIAN_OCI, built by scripts/test-images.sh as root; make test does it)", sync.OnceValue(func() error {
	dir := os.Getenv("SANDBOX_TEST_DEBIAN_OCI")
	if dir == "" {
		return errors.New("SANDBOX_TEST_DEBIAN_OCI is unset")
	}
	_, err := os.Stat(dir + "/index.json")
	return err
})}

// FuseDev: fuse-overlayfs is installed and /dev/fuse opens for this user
// (make test opens it up; desktops ship it 0666).
var FuseDev = Requirement{"fuse-overlayfs and a /dev/fuse this user can open", sync.OnceValue(func() error {
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		return err
	}
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
})}

// Landlock requires the kernel's Landlock LSM at ABI min or later.
func Landlock(min int) Requirement {
	return Requirement{fmt.Sprintf("Landlock ABI %d or later", min), func() error {
		abi, err := landlock.ABI()
		if err == nil && abi < min {
			err = fmt.Errorf("the kernel has ABI %d", abi)
		}
		return err
	}}
}

// RuntimeTest: the OCI runtime-tools runtimetest binary that
// scripts/runtimetest.sh builds and names in $SANDBOX_TEST_RUNTIMETEST.
var RuntimeTest = Requirement{"the OCI runtimetest ($SANDBOX_TEST_RUNTIMETEST, built by scripts/runtimetest.sh; make test does it)", sync.OnceValue(func() error {
	bin := os.Getenv("SANDBOX_TEST_RUNTIMETEST")
	if bin == "" {
		return errors.New("SANDBOX_TEST_RUNTIMETEST is unset")
	}
	_, err := exec.LookPath(bin)
	return err
})}

// SlimInit: the CLI and its slim init as `make build` makes them, built
// by scripts/build.sh into the directory $SANDBOX_TEST_SLIM_INIT names.
var SlimInit = Requirement{"sandbox and sandbox-init built by scripts/build.sh ($SANDBOX_TEST_SLIM_INIT; make test does it)", sync.OnceValue(func() error {
	dir := os.Getenv("SANDBOX_TEST_SLIM_INIT")
	if dir == "" {
		return errors.New("SANDBOX_TEST_SLIM_INIT is unset")
	}
	for _, f := range []string{"sandbox", "sandbox-init"} {
		if _, err := exec.LookPath(dir + "/" + f); err != nil {
			return err
		}
	}
	return nil
})}

// CgroupVM: the test runs inside the throwaway cgroup v2 VM of
// scripts/vm/run.sh (which sets CGROUP2_VM=1), where limits are enforced
// for real. scripts/test-vm.sh runs such tests there; scripts/test.sh
// leaves them out of the host's run (go test -skip '^TestCgroupVM').
var CgroupVM = Requirement{"the cgroup v2 VM (scripts/test-vm.sh runs these tests in it)", func() error {
	if os.Getenv("CGROUP2_VM") != "1" {
		return errors.New("CGROUP2_VM is not 1: not inside the VM")
	}
	return nil
}}

// InodeFlags requires a file system at dir that keeps inode flags
// (chattr), as ext4 does and tmpfs may not.
func InodeFlags(dir string) Requirement {
	return Requirement{"inode flags (chattr) on the file system of " + dir, func() error {
		f, err := os.Open(dir)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
		return err
	}}
}
