package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sandbox/internal/testenv"
)

// cdiSpec is a real CDI spec, read by the real library: a device that maps
// an existing node and sets a variable, and spec-wide edits (a variable,
// a read-only "driver library" directory).
const cdiSpec = `cdiVersion: "0.6.0"
kind: "example.test/dev"
devices:
  - name: fuse
    containerEdits:
      deviceNodes:
        - path: /dev/fuse
      env:
        - EXAMPLE_TEST_DEVICE=fuse
  - name: hooked
    containerEdits:
      hooks:
        - hookName: createContainer
          path: /usr/bin/true
          args: ["true", "--from-i17-test"]
  - name: linked
    containerEdits:
      deviceNodes:
        - path: /dev/example-null
          hostPath: %s
containerEdits:
  env:
    - EXAMPLE_TEST_SPEC=1
  mounts:
    - hostPath: %s
      containerPath: %s
      options: ["rw", "bind"]
`

func TestCDIDevice(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.FuseDev)
	dir, lib := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(lib, "libexample.so"), []byte("driver\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "null-link")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example.yaml"), []byte(fmt.Sprintf(cdiSpec, link, lib, lib)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"SANDBOX_CDI_SPEC_DIRS=" + dir}

	out, stderr, code := p.runResult(t, env, "run", "--device", "example.test/dev=fuse", "--", "sh", "-c",
		`test -c /dev/fuse && echo node; echo $EXAMPLE_TEST_DEVICE $EXAMPLE_TEST_SPEC; cat $0/libexample.so; touch $0/x 2>/dev/null || echo read-only`, lib)
	if want := "node\nfuse 1\ndriver\nread-only\n"; code != 0 || out != want {
		t.Fatalf("CDI device: exit %d, stdout %q, want %q; stderr:\n%s", code, out, want, stderr)
	}
	if !strings.Contains(stderr, "CDI device example.test/dev=fuse") {
		t.Errorf("the start line does not name the CDI device; stderr:\n%s", stderr)
	}

	for _, tt := range []struct{ dev, want string }{
		{"example.test/dev=hooked", "createContainer hook /usr/bin/true is refused"},
		{"example.test/dev=linked", "symlink"},
		{"example.test/dev=absent", "no CDI spec in " + dir + " defines it"},
	} {
		out, stderr, code := p.runResult(t, env, "run", "--device", tt.dev, "--", "echo", "RAN")
		if code != 125 || strings.Contains(out, "RAN") || !strings.Contains(stderr, tt.want) {
			t.Errorf("--device %s: exit %d, stdout %q, stderr:\n%s\nwant 125 and %q", tt.dev, code, out, stderr, tt.want)
		}
	}

	doctor, _, _ := p.runResult(t, env, "doctor")
	if !strings.Contains(doctor, "example.test/dev=fuse") {
		t.Errorf("doctor does not list the CDI devices:\n%s", doctor)
	}
}

// waitForSocket polls until path exists (a server started by the test).
func waitForSocket(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", path)
}

func startDaemon(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

// A real ssh-agent holding a real key: with forward.ssh_agent the
// sandbox lists the key through the agent; without it there is no agent
// socket and no SSH_AUTH_SOCK, even though the host has one.
func TestForwardSSHAgent(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.Tool("ssh-agent"), testenv.Tool("ssh-add"), testenv.Tool("ssh-keygen"))
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "i17@example.test", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "agent.sock")
	startDaemon(t, exec.Command("ssh-agent", "-D", "-a", sock))
	waitForSocket(t, sock)
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	env := []string{"SSH_AUTH_SOCK=" + sock}

	p.writeProfile(t, "env_passthrough = [\"TERM\", \"SSH_AUTH_SOCK\"]\n[forward]\nssh_agent = true\n")
	out, stderr, code := p.runResult(t, env, "run", "--", "sh", "-c", "echo $SSH_AUTH_SOCK; ssh-add -l")
	if code != 0 || !strings.Contains(out, "/run/sandbox/ssh-agent.sock\n") || !strings.Contains(out, "i17@example.test (ED25519)") {
		t.Fatalf("ssh-add -l inside: exit %d, stdout %q, stderr:\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "ssh-agent socket") {
		t.Errorf("the start line does not name the agent; stderr:\n%s", stderr)
	}
	show := p.output(t, "profile", "show")
	if !strings.Contains(show, "# grants: ssh-agent socket") {
		t.Errorf("profile show does not name the agent:\n%s", show)
	}

	// A socket path through a symlink is refused, not followed.
	link := filepath.Join(dir, "link.sock")
	if err := os.Symlink(sock, link); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = p.runResult(t, []string{"SSH_AUTH_SOCK=" + link}, "run", "--", "echo", "RAN")
	if code != 125 || strings.Contains(out, "RAN") || !strings.Contains(stderr, link+" is a symlink, not a socket") || !strings.Contains(stderr, "never reached through a symlink") {
		t.Errorf("an agent socket behind a symlink: exit %d, stdout %q, stderr:\n%s", code, out, stderr)
	}

	p.writeProfile(t, "")
	out, stderr, code = p.runResult(t, env, "run", "--", "sh", "-c", "echo ${SSH_AUTH_SOCK-unset}; ls -A /run; ssh-add -l || echo no-agent")
	if code != 0 || out != "unset\nno-agent\n" || strings.Contains(stderr, "grants") {
		t.Errorf("without forward.ssh_agent: exit %d, stdout %q, stderr:\n%s", code, out, stderr)
	}
}

// xauthAdd adds a cookie for display to the Xauthority file.
func xauthAdd(t *testing.T, file, display string) {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	if out, err := exec.Command("xauth", "-f", file, "add", display, "MIT-MAGIC-COOKIE-1", hex.EncodeToString(b)).CombinedOutput(); err != nil {
		t.Fatalf("xauth add: %v\n%s", err, out)
	}
}

// A real Xvfb that requires a cookie: with forward.x11, xdpyinfo inside
// talks to it through the bound socket and the cookie for that display
// only; without the key there is no DISPLAY and no X socket inside.
func TestForwardX11(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.Tool("Xvfb"), testenv.Tool("xdpyinfo"), testenv.Tool("xauth"))
	dir := t.TempDir()
	auth := filepath.Join(dir, "Xauthority")
	// A display number of our own: the lock file Xvfb would take is free.
	num := 0
	for n := 170 + os.Getpid()%50; n < 400; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); os.IsNotExist(err) {
			num = n
			break
		}
	}
	display := ":" + strconv.Itoa(num)
	xauthAdd(t, auth, display)
	xauthAdd(t, auth, ":"+strconv.Itoa(num+1)) // another display's cookie: must not be passed in
	startDaemon(t, exec.Command("Xvfb", display, "-auth", auth, "-nolisten", "tcp", "-screen", "0", "640x480x24"))
	waitForSocket(t, "/tmp/.X11-unix/X"+strconv.Itoa(num))
	env := []string{"DISPLAY=" + display, "XAUTHORITY=" + auth}

	p.writeProfile(t, "[forward]\nx11 = true\n")
	out, stderr, code := p.runResult(t, env, "run", "--", "sh", "-c", "xdpyinfo | grep -E 'name of display|dimensions:'; xauth list | wc -l; ls -A /tmp/.X11-unix")
	want := fmt.Sprintf("name of display:    %s\n  dimensions:    640x480 pixels", display)
	if code != 0 || !strings.Contains(out, want) || !strings.HasSuffix(out, fmt.Sprintf("\n1\nX%d\n", num)) {
		t.Fatalf("xdpyinfo inside: exit %d, stdout %q, want %q, one cookie, one socket; stderr:\n%s", code, out, want, stderr)
	}

	p.writeProfile(t, "")
	out, stderr, code = p.runResult(t, env, "run", "--", "sh", "-c", "echo ${DISPLAY-unset} ${XAUTHORITY-unset}; ls -A /tmp/.X11-unix /run/sandbox 2>/dev/null; xdpyinfo -display "+display+" >/dev/null 2>&1 || echo no-display")
	if code != 0 || out != "unset unset\nno-display\n" {
		t.Errorf("without forward.x11: exit %d, stdout %q, stderr:\n%s", code, out, stderr)
	}
}

// serveUnix listens on path and greets every client with hello.
func serveUnix(t *testing.T, path, hello string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(hello))
			c.Close()
		}
	}()
}

// A real gpg-agent (its socket found through gpgconf, for a GNUPGHOME of
// the test's own) answers gpg-connect-agent inside; the Wayland,
// PulseAudio and PipeWire sockets, served by stand-ins (no such server on
// a test host), are reached at the paths their variables give. Without
// the keys none of them is there.
func TestForwardSockets(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.Tool("gpg-agent"), testenv.Tool("gpgconf"), testenv.Tool("gpg-connect-agent"), testenv.Tool("python3"))
	gnupg := filepath.Join(t.TempDir(), "gnupg")
	if err := os.Mkdir(gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	gpgEnv := append(os.Environ(), "GNUPGHOME="+gnupg)
	for _, args := range [][]string{{"gpgconf", "--create-socketdir"}, {"gpg-agent", "--daemon"}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = gpgEnv
		// No pipes: the daemon keeps what it inherits open.
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
	}
	t.Cleanup(func() {
		for _, args := range [][]string{{"gpgconf", "--kill", "gpg-agent"}, {"gpgconf", "--remove-socketdir"}} {
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = gpgEnv
			cmd.Run()
		}
	})
	serveUnix(t, filepath.Join(p.runtime, "wayland-i17"), "wayland-hello")
	serveUnix(t, filepath.Join(p.runtime, "pulse", "native"), "pulse-hello")
	serveUnix(t, filepath.Join(p.runtime, "pipewire-0"), "pipewire-hello")
	env := []string{"GNUPGHOME=" + gnupg, "WAYLAND_DISPLAY=wayland-i17"}
	const probe = `gpg-connect-agent --no-autostart 'getinfo version' /bye 2>&1 | head -1
for s in "$WAYLAND_DISPLAY" "${PULSE_SERVER#unix:}" "$PIPEWIRE_RUNTIME_DIR/$PIPEWIRE_REMOTE"; do
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(64).decode())' "$s" 2>&1 | tail -1
done`

	p.writeProfile(t, "[forward]\ngpg_agent = true\nwayland = true\npulseaudio = true\npipewire = true\n")
	out, stderr, code := p.runResult(t, env, "run", "--", "sh", "-c", probe)
	want := "D 2.\nwayland-hello\npulse-hello\npipewire-hello\n"
	if code != 0 || !strings.HasPrefix(out, "D 2.") || !strings.HasSuffix(out, want[4:]) {
		t.Fatalf("forwarded sockets inside: exit %d, stdout %q, want %q; stderr:\n%s", code, out, want, stderr)
	}
	for _, g := range []string{"gpg-agent socket", "Wayland display", "PulseAudio socket", "PipeWire socket"} {
		if !strings.Contains(stderr, g) {
			t.Errorf("the start line does not name %s; stderr:\n%s", g, stderr)
		}
	}

	p.writeProfile(t, "")
	out, _, code = p.runResult(t, env, "run", "--", "sh", "-c", "echo ${WAYLAND_DISPLAY-unset} ${PULSE_SERVER-unset} ${PIPEWIRE_REMOTE-unset}; ls -A /run; "+probe)
	if code != 0 || !strings.HasPrefix(out, "unset unset unset\n") || strings.Contains(out, "hello") || strings.Contains(out, "D 2.") {
		t.Errorf("without the keys: exit %d, stdout %q", code, out)
	}
}
