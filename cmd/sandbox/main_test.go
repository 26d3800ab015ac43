package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"sandbox/cgroup"
	"sandbox/internal/testenv"
)

// TestMain makes this test binary double as the sandbox binary: testscript
// puts a copy named "sandbox" on PATH, and a copy started as "sandbox"
// (including its re-execution as the sandbox's init) runs main.
func TestMain(m *testing.M) {
	// The test process itself starts helpers (the layer unpacker) that
	// re-execute /proc/self/exe: main.go's init runs their roles.
	testscript.Main(m, map[string]func(){"sandbox": main, "tiocsti": tiocsti, "probe": probe, "hog": hog, "forkbomb": forkbomb, "netns-host": netnsHost})
}

// namespaces are the requirements of every test that starts a sandbox.
var namespaces = []testenv.Requirement{testenv.Unprivileged, testenv.UserNS, testenv.NewIDMap}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: setupScript,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "userns":
				err := testenv.Check(namespaces...)
				if err != nil && testenv.RequireAll() {
					return false, fmt.Errorf("%v (SANDBOX_TEST_REQUIRE_ALL=1 forbids skipping)", err)
				}
				return err == nil, nil
			case "isolatednet", "pasta", "slirp4netns":
				req := testenv.IsolatedNet
				if cond != "isolatednet" {
					req = testenv.Tool(cond)
				}
				err := testenv.Check(req)
				if err != nil && testenv.RequireAll() {
					return false, fmt.Errorf("%v (SANDBOX_TEST_REQUIRE_ALL=1 forbids skipping)", err)
				}
				return err == nil, nil
			case "cgroup2":
				// A delegated cgroup v2 with the controllers limits use.
				d, err := cgroup.Detect()
				return err == nil && cgroup.Check(d, cgroup.Limits{MemoryMax: 1, CPUs: 1, PidsMax: 1}) == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"hostowned":  cmdHostOwned,
			"exits":      cmdExits,
			"mksock":     cmdMksock,
			"serve-tcp":  cmdServeTCP,
			"serve-http": cmdServeHTTP,
			"dial":       cmdDial,
		},
	})
}

// setupScript gives each script a home of its own outside the project
// ($WORK/proj, the working directory) and names the invoking user.
func setupScript(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	proj := filepath.Join(env.WorkDir, "proj")
	for _, d := range []string{home, proj} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	u, err := user.Current()
	if err != nil {
		return err
	}
	env.Setenv("HOME", home)
	env.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	env.Setenv("SHELL", "/bin/sh")
	env.Setenv("HOSTUID", strconv.Itoa(os.Getuid()))
	env.Setenv("HOSTGID", strconv.Itoa(os.Getgid()))
	env.Setenv("HOSTUSER", u.Username)
	env.Cd = proj
	return nil
}

// hostowned FILE...: each file belongs to the invoking user on the host.
func cmdHostOwned(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		fi, err := os.Lstat(ts.MkAbs(f))
		ts.Check(err)
		uid := int(fi.Sys().(*syscall.Stat_t).Uid)
		if (uid == os.Getuid()) == neg {
			ts.Fatalf("%s is owned by uid %d; invoking user is %d", f, uid, os.Getuid())
		}
	}
}

// exits N COMMAND [ARG...]: the command exits with status N; its output is
// checked by the stdout and stderr that follow, as after exec.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N COMMAND [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		got = exitErr.ExitCode()
	} else {
		ts.Check(err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// mksock PATH: a listening unix socket at PATH, for as long as the script runs.
func cmdMksock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mksock PATH")
	}
	l, err := net.Listen("unix", ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Defer(func() { l.Close() })
}
