package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sandbox/internal/testenv"
)

// An address the host gains while a slirp-mode run is going is as
// unreachable from the sandbox as the ones it had at the start. The "host"
// here is a network namespace of the test's own (with a user namespace
// that owns it, so that the test can add an address): netnsHost runs the
// sandbox there and adds the address mid-run.
func TestHostAddressAddedDuringRun(t *testing.T) {
	for _, backend := range []string{"pasta", "slirp4netns"} {
		t.Run(backend, func(t *testing.T) {
			p := newProject(t)
			testenv.Require(t, testenv.IsolatedNet, testenv.Tool(backend))
			toml := "[network]\nmode = \"slirp\"\nbackend = \"" + backend + "\"\n"
			if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(toml), 0o644); err != nil {
				t.Fatal(err)
			}
			// The helper's PATH holds the network helper but not newuidmap:
			// in a user namespace of our own the subordinate ids are not
			// mapped, so the sandbox takes its single-id layout.
			bin := t.TempDir()
			for _, tool := range []string{backend, "sandbox"} {
				path, err := exec.LookPath(tool)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
					t.Fatal(err)
				}
			}
			netns, err := exec.LookPath("netns-host")
			if err != nil {
				t.Fatal(err)
			}
			script := `touch ready
while [ ! -e go ]; do sleep 0.02; done
i=0; while ! ip route get 198.51.100.7 2>&1 | grep -qiE 'unreachable|no route' && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
timeout 3 bash -c 'cat < /dev/tcp/198.51.100.7/18099' || echo BLOCKED-new
timeout 3 bash -c 'cat < /dev/tcp/192.0.2.200/18099' || echo BLOCKED-initial
timeout 3 bash -c 'cat < /dev/tcp/169.254.77.1/18099' || echo BLOCKED-linklocal-initial
timeout 3 bash -c 'cat < /dev/tcp/169.254.88.1/18099' || echo BLOCKED-linklocal-new`
			cmd := p.command("run", "--", "sh", "-c", script)
			cmd.Path = netns
			cmd.Args = append([]string{"netns-host"}, cmd.Args[1:]...)
			cmd.Env = append(cmd.Env, "PATH="+bin) // the last PATH wins
			uid, gid := os.Getuid(), os.Getgid()
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
				UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
				GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
				AmbientCaps: []uintptr{12}, // CAP_NET_ADMIN, for ip(8)
			}
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("netns-host: %v", err)
			}
			if strings.Contains(string(out), "from-host-service") {
				t.Errorf("the sandbox reached the host's service")
			}
			for _, want := range []string{"BLOCKED-new", "BLOCKED-initial", "BLOCKED-linklocal-initial", "BLOCKED-linklocal-new"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("the sandbox did not report %s", want)
				}
			}
		})
	}
}

// netnsHost (this test binary run as "netns-host", in a user and network
// namespace of its own, with CAP_NET_ADMIN) plays the host: an interface
// with a default route, a service on 0.0.0.0:18099, and `sandbox ARGS...`
// run in the working directory; once the payload has made the file
// "ready", it adds 198.51.100.7 to an interface and makes "go".
func netnsHost() {
	fail := func(f string, args ...any) {
		fmt.Fprintf(os.Stderr, "netns-host: "+f+"\n", args...)
		os.Exit(1)
	}
	ip := func(args ...string) {
		if out, err := exec.Command("/sbin/ip", args...).CombinedOutput(); err != nil {
			fail("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("link", "set", "lo", "up")
	ip("link", "add", "hsink0", "type", "veth", "peer", "name", "hsink1")
	ip("addr", "add", "192.0.2.200/24", "dev", "hsink0")
	ip("addr", "add", "169.254.77.1/16", "dev", "hsink0") // link-local (review 13, #12)
	ip("link", "set", "hsink0", "up")
	ip("link", "set", "hsink1", "up")
	ip("route", "add", "default", "via", "192.0.2.1", "dev", "hsink0")
	l, err := net.Listen("tcp", "0.0.0.0:18099")
	if err != nil {
		fail("%v", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("from-host-service\n"))
			c.Close()
		}
	}()
	cmd := exec.Command("sandbox", os.Args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fail("%v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat("ready"); err == nil {
			break
		}
		select {
		case err := <-done:
			fail("sandbox ended before the payload was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			fail("the payload did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ip("addr", "add", "169.254.88.1/32", "dev", "hsink1") // before the one the payload waits for
	ip("addr", "add", "198.51.100.7/32", "dev", "hsink1")
	if err := os.WriteFile("go", nil, 0o644); err != nil {
		fail("%v", err)
	}
	if err := <-done; err != nil {
		fail("sandbox: %v", err)
	}
	os.Exit(0)
}
