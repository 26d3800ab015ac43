package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"sandbox/internal/testenv"
	"sandbox/internal/testregistry"
)

// runResult runs `sandbox ARGS...` in the project with extra variables
// and returns stdout, stderr and the exit code.
func (p *project) runResult(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := p.command(args...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	t.Fatalf("sandbox %s: %v", strings.Join(args, " "), err)
	return "", "", 0
}

func (p *project) writeProfile(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// Devices and forwarded sockets are grants: the user trusts the file.
	// A profile that does not load is not trusted; the run that follows
	// reports why, which is what such a test checks.
	p.runResult(t, nil, "trust", "sandbox.toml")
}

// baseDev is what the sandbox's /dev holds without any device granted.
var baseDev = []string{"fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"}

// A granted /dev/fuse is a working FUSE device: fuse-overlayfs mounts and
// writes through it inside. Without the grant there is no /dev/fuse, and
// the same mount fails.
func TestDeviceFuse(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.FuseDev)
	script := `set -e; cd /tmp; mkdir l u w m; echo lower > l/f
fuse-overlayfs -o lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w /tmp/m
echo upper > m/g; cat m/f u/g; id -G | wc -w`
	out, stderr, code := p.runResult(t, nil, "run", "--user", "root", "--device", "/dev/fuse", "--", "sh", "-c", script)
	if code != 0 || !strings.Contains(out, "lower\nupper\n") {
		t.Fatalf("fuse-overlayfs through --device /dev/fuse: exit %d, stdout %q, stderr:\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "grants: device /dev/fuse") {
		t.Errorf("the start line does not name the device; stderr:\n%s", stderr)
	}

	out, _, code = p.runResult(t, nil, "run", "--user", "root", "--", "sh", "-c", "ls /dev; "+script)
	if code == 0 || strings.Contains(out, "upper") {
		t.Errorf("fuse-overlayfs worked without the grant: exit %d, stdout %q", code, out)
	}
	var got []string
	for _, l := range strings.Fields(out) {
		if l == "lower" {
			break
		}
		got = append(got, l)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(baseDev, " ") {
		t.Errorf("without devices, /dev holds %v, want %v", got, baseDev)
	}
}

// The payload keeps the user's supplementary groups when a device is
// granted (podman's keep-groups): access through a group works as on the
// host. Without a grant the groups are dropped, as before.
func TestDeviceKeepsGroups(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.FuseDev)
	host, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	groups := func(args ...string) string {
		args = append(append([]string{"run"}, args...), "--", "sh", "-c", "grep ^Groups: /proc/self/status")
		return strings.TrimSpace(p.output(t, args...))
	}
	if with := strings.Fields(groups("--device", "/dev/fuse")); len(with)-1 != len(host) {
		t.Errorf("with a device the payload has groups %v, want as many as the host's %v", with[1:], host)
	}
	// A user whose only group is the primary one may run on the single-id
	// map, where that group cannot be dropped: it grants nothing the gid
	// does not.
	for _, g := range strings.Fields(groups())[1:] {
		if g != strconv.Itoa(os.Getgid()) {
			t.Errorf("without a device the payload keeps group %s", g)
		}
	}
}

func TestDeviceKVM(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.KVM)
	out := p.output(t, "run", "--device", "/dev/kvm", "--", "sh", "-c", "test -c /dev/kvm && : </dev/kvm >/dev/kvm && echo kvm-ok")
	if !strings.Contains(out, "kvm-ok") {
		t.Errorf("/dev/kvm inside: %q", out)
	}
}

// A device that is missing, not a device, or not open to the user stops
// the run (125) with an error naming it; nothing runs.
func TestDeviceRefused(t *testing.T) {
	p := newProject(t)
	for _, tt := range []struct{ dev, want string }{
		{"/dev/i17-missing.test", "device /dev/i17-missing.test: "},
		{"/dev/cpu", "/dev/cpu is a directory, not a device node"},
		{"/dev/console", "device /dev/console: you can neither read nor write it"},
		{"/dev/shm", `devices: "/dev/shm" is inside the sandbox's own /dev/shm`},
		{"/etc/passwd", `devices: "/etc/passwd" is not a path under /dev`},
	} {
		t.Run(tt.dev, func(t *testing.T) {
			out, stderr, code := p.runResult(t, nil, "run", "--device", tt.dev, "--", "echo", "RAN")
			if code != 125 || strings.Contains(out, "RAN") || !strings.Contains(stderr, tt.want) {
				t.Errorf("--device %s: exit %d, stdout %q, stderr:\n%s\nwant 125 and %q", tt.dev, code, out, stderr, tt.want)
			}
		})
	}
	p.writeProfile(t, "[[mount]]\nsource = \"/dev/fuse\"\ntarget = \"/dev/fuse\"\n")
	_, stderr, code := p.runResult(t, nil, "run", "--", "true")
	if code != 125 || !strings.Contains(stderr, `devices = ["/dev/fuse"]`) {
		t.Errorf("a [[mount]] under /dev: exit %d, stderr:\n%s\nwant 125 with the devices hint", code, stderr)
	}
}

// On an image root too, a granted device and a forwarded socket appear
// at their places (the image's /tmp and /run are not the host's).
func TestGrantsOnImage(t *testing.T) {
	testenv.Require(t, testenv.DebianImage, testenv.FuseDev)
	p := newProject(t)
	reg := testregistry.Start(t)
	ref := reg.Push(t, os.Getenv("SANDBOX_TEST_DEBIAN_OCI"), "minbase", "debian:minbase")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	serveUnix(t, sock, "agent-hello")
	p.writeProfile(t, "image = \""+ref+"\"\ninsecure_registries = [\""+strings.Split(ref, "/")[0]+"\"]\ndevices = [\"/dev/fuse\"]\n[forward]\nssh_agent = true\n")
	out, stderr, code := p.runResult(t, []string{"SSH_AUTH_SOCK=" + sock}, "run", "--tls-verify=false", "--",
		"sh", "-c", "test -c /dev/fuse && echo dev; test -S $SSH_AUTH_SOCK && echo $SSH_AUTH_SOCK")
	if want := "dev\n/run/sandbox/ssh-agent.sock\n"; code != 0 || out != want {
		t.Errorf("grants on an image: exit %d, stdout %q, want %q; stderr:\n%s", code, out, want, stderr)
	}
}
