package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"sandbox/internal/testenv"
	"sandbox/internal/testregistry"
	"sandbox/userns"
)

// busyboxApplets are the commands the test image gets as symlinks.
var busyboxApplets = []string{"sh", "id", "stat", "cat", "echo", "pwd", "sleep", "ls", "touch", "rm", "mkdir", "true", "env", "dd", "wc"}

// busyboxImage builds, with umoci, a busybox image with files owned by
// www-data (33), a setuid file, and a config.
func busyboxImage(t *testing.T, config ...string) (layout, tag string) {
	t.Helper()
	testenv.Require(t, testenv.Tool("busybox")) // package busybox-static
	bb, _ := exec.LookPath("busybox")
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	files := []testregistry.File{
		{Path: "bin", Mode: os.ModeDir | 0o755},
		{Path: "bin/busybox", Body: string(data), Mode: 0o755},
		{Path: "bin/suid-marker", Body: "x", Mode: 0o755, Setuid: true},
		{Path: "etc/passwd", Body: "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\n", Mode: 0o644},
		{Path: "etc/group", Body: "root:x:0:\nwww-data:x:33:\n", Mode: 0o644},
		{Path: "root", Mode: os.ModeDir | 0o700},
		{Path: "tmp", Mode: os.ModeDir | 0o777},
		{Path: "var/www", Mode: os.ModeDir | 0o750, UID: 33, GID: 33},
		{Path: "var/www/index.html", Body: "hello\n", Mode: 0o640, UID: 33, GID: 33},
	}
	for _, a := range busyboxApplets {
		files = append(files, testregistry.File{Path: "bin/" + a, Body: "busybox", Mode: os.ModeSymlink})
	}
	return testregistry.Build(t, files, config...)
}

// pushBusybox starts a registry and pushes a busybox image to it.
func pushBusybox(t *testing.T, config ...string) (*testregistry.Registry, string) {
	t.Helper()
	reg := testregistry.Start(t)
	layout, tag := busyboxImage(t, append([]string{"--config.env", "FOO=bar", "--config.workingdir", "/var/www",
		"--config.cmd", "/bin/sh", "--config.cmd", "-c", "--config.cmd", "echo image-cmd"}, config...)...)
	return reg, reg.Push(t, layout, tag, "busybox:1")
}

func (p *project) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := p.command(args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestImageRunHonoursTheImage(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	out, errOut, code := p.run(t, "run", "--tls-verify=false", "--image", ref)
	if code != 0 || out != "image-cmd\n" {
		t.Fatalf("run with the image's command: code %d, out %q, stderr %s", code, out, errOut)
	}
	out = p.output(t, "run", "--tls-verify=false", "--image", ref, "--",
		"sh", "-c", `stat -c '%u:%g %a' /var/www /var/www/index.html /bin/suid-marker; echo $FOO; pwd; id -u; cat /var/www/index.html`)
	want := "33:33 750\n33:33 640\n0:0 4755\nbar\n/var/www\n0\nhello\n"
	if out != want {
		t.Errorf("inside the image:\n%s\nwant:\n%s", out, want)
	}
	// -w and user = "self" win over the image's settings.
	out = p.output(t, "run", "--image", ref, "--tls-verify=false", "-u", "self", "-w", ".", "--", "sh", "-c", "id -u; pwd")
	if want := strconv.Itoa(os.Getuid()) + "\n" + p.dir + "\n"; out != want {
		t.Errorf("with -u self -w .: %q, want %q", out, want)
	}
}

func TestImageOwnershipOnTheHost(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	// Without subordinate ids every file belongs to root inside (the
	// degraded mode, which scripts/test-nosubid.sh tests).
	testenv.Require(t, testenv.NewIDMap)
	u, _ := user.Current()
	m, err := userns.NewMapping(u.Username, os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := filepath.Glob(filepath.Join(p.home, ".local/share/sandbox/images/layers/sha256/*"))
	if len(layers) != 1 {
		t.Fatalf("layers: %v", layers)
	}
	var st = statOwner(t, filepath.Join(layers[0], "var/www"))
	if want := hostID(m.UIDs, 33); st != want {
		t.Errorf("var/www is owned by host uid %d, want %d (uid 33 through the subuid map)", st, want)
	}
	if fi, _ := os.Stat(filepath.Join(p.home, ".local/share/sandbox/images")); fi.Mode().Perm() != 0o700 {
		t.Errorf("store mode %o, want 0700", fi.Mode().Perm())
	}
}

func statOwner(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

func hostID(maps []userns.IDMap, id int) int {
	for _, m := range maps {
		if id >= m.ContainerID && id < m.ContainerID+m.Size {
			return m.HostID + id - m.ContainerID
		}
	}
	return -1
}

func TestImageSandboxStateResetEphemeralInUse(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("image = \""+ref+"\"\ninsecure_registries = [\""+strings.Split(ref, "/")[0]+"\"]\n"), 0o644)
	p.output(t, "run", "--", "sh", "-c", "echo kept > /root/state; rm /bin/ls")
	if out := p.output(t, "run", "--", "sh", "-c", "cat /root/state; ls /bin/ls 2>/dev/null || echo no-ls"); out != "kept\nno-ls\n" {
		t.Errorf("changes did not persist: %q", out)
	}
	if out := p.output(t, "run", "--ephemeral", "--", "sh", "-c", "cat /root/state 2>&1; echo tmp > /root/tmp"); !strings.Contains(out, "No such file") {
		t.Errorf("--ephemeral saw the sandbox's changes: %q", out)
	}
	if out := p.output(t, "run", "--", "sh", "-c", "ls /root"); out != "state\n" {
		t.Errorf("after --ephemeral the sandbox holds %q, want only state", out)
	}
	// A second run of the project while one runs is refused. The first
	// holds the project until its stdin closes.
	bg := p.command("run", "--", "sh", "-c", "echo running; read x; true")
	stdin, err := bg.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := bg.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bg.Start(); err != nil {
		t.Fatal(err)
	}
	defer bg.Wait()
	defer stdin.Close()
	readAll(stdout).waitFor(t, 0, "running\n")
	_, errOut, code := p.run(t, "run", "--", "true")
	if code != 125 || !strings.Contains(errOut, "in use") || !strings.Contains(errOut, "--ephemeral") {
		t.Errorf("concurrent run: code %d, stderr %q; want 125 and an in-use error naming --ephemeral", code, errOut)
	}
	// --ephemeral runs beside it, on a throwaway layer over the image.
	if out, errOut, code := p.run(t, "run", "--ephemeral", "--", "sh", "-c", "ls /bin/ls"); code != 0 || out != "/bin/ls\n" {
		t.Errorf("--ephemeral beside a running sandbox: code %d %q %s", code, out, errOut)
	}
	stdin.Close()
	if err := bg.Wait(); err != nil {
		t.Errorf("the first run: %v", err)
	}
	// rmi refuses what the sandbox stands on; reset discards the changes.
	if _, errOut, code := p.run(t, "rmi", ref); code != 125 || !strings.Contains(errOut, "sandbox reset") {
		t.Errorf("rmi of a used image: code %d, stderr %q", code, errOut)
	}
	var list []struct {
		Ref    string   `json:"ref"`
		UsedBy []string `json:"used_by"`
	}
	if err := json.Unmarshal([]byte(p.output(t, "images", "--json")), &list); err != nil || len(list) != 1 || len(list[0].UsedBy) != 1 {
		t.Errorf("images --json = %+v, %v; want one image used by the project", list, err)
	}
	p.output(t, "reset")
	if out := p.output(t, "run", "--", "sh", "-c", "cat /root/state 2>&1; ls /bin/ls"); !strings.Contains(out, "No such file") || !strings.Contains(out, "/bin/ls") {
		t.Errorf("after reset: %q", out)
	}
	p.output(t, "reset")
	if _, errOut, code := p.run(t, "rmi", ref); code != 0 {
		t.Errorf("rmi after reset: %d %s", code, errOut)
	}
	left, _ := filepath.Glob(filepath.Join(p.home, ".local/share/sandbox/images/layers/sha256/*"))
	if len(left) != 0 {
		t.Errorf("layers left after rmi: %v", left)
	}
}

func TestImageTLSRefusedUnlessAsked(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	_, errOut, code := p.run(t, "pull", ref)
	if code != 125 || !strings.Contains(errOut, "--tls-verify=false") || !strings.Contains(errOut, "insecure_registries") {
		t.Errorf("pull from a plain-HTTP registry without --tls-verify=false: code %d, stderr %q", code, errOut)
	}
	if _, errOut, code := p.run(t, "images"); code != 0 || strings.Contains(errOut, "busybox") {
		t.Errorf("images after a refused pull: %d %s", code, errOut)
	}
}

func TestImageLockPinsTheDigest(t *testing.T) {
	p := newProject(t)
	reg, ref := pushBusybox(t)
	os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("image = \""+ref+"\"\ninsecure_registries = [\""+reg.Host+"\"]\n"), 0o644)
	p.output(t, "lock")
	lock, err := os.ReadFile(filepath.Join(p.dir, "sandbox.lock"))
	if err != nil || !strings.Contains(string(lock), "sha256:") {
		t.Fatalf("sandbox.lock = %q, %v", lock, err)
	}
	// The tag moves to another image; the lock keeps the old one, in a
	// fresh store too (a teammate's machine).
	layout, tag := busyboxImage(t, "--config.env", "VERSION=2")
	reg.Push(t, layout, tag, "busybox:1")
	teammate := newProject(t)
	teammate.dir = p.dir
	if out := teammate.output(t, "run", "--ephemeral", "--", "sh", "-c", "echo v=$VERSION"); out != "v=\n" {
		t.Errorf("with sandbox.lock the run saw %q, want the locked image (no VERSION)", out)
	}
	teammate.output(t, "lock", "--update")
	if out := teammate.output(t, "run", "--ephemeral", "--", "sh", "-c", "echo v=$VERSION"); out != "v=2\n" {
		t.Errorf("after lock --update: %q, want v=2", out)
	}
	os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte("image = \""+reg.Host+"/other:1\"\n"), 0o644)
	if _, errOut, code := p.run(t, "run", "--", "true"); code != 125 || !strings.Contains(errOut, "lock --update") {
		t.Errorf("profile image differs from sandbox.lock: code %d, stderr %q", code, errOut)
	}
}

func TestImageUser(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t, "--config.user", "www-data")
	if out := p.output(t, "run", "--tls-verify=false", "--image", ref, "--", "sh", "-c", "id -u; id -g; echo $HOME; touch /var/www/w && echo writable"); out != "33\n33\n/var/www\nwritable\n" {
		t.Errorf("as the image's user: %q", out)
	}
}

// TestImageFuseOverlay runs an image on the fuse-overlayfs fallback, which
// hosts without overlayfs in user namespaces (Linux < 5.11) use.
func TestImageFuseOverlay(t *testing.T) {
	testenv.Require(t, testenv.FuseDev)
	p := newProject(t)
	_, ref := pushBusybox(t)
	p.output(t, "pull", "-q", "--tls-verify=false", ref)
	run := func(args ...string) string {
		t.Helper()
		cmd := p.command(append([]string{"run", "--tls-verify=false", "--image", ref, "--"}, args...)...)
		cmd.Env = append(cmd.Env, "SANDBOX_OVERLAY=fuse")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("sh", "-c", `grep " / " /proc/mounts | cut -d" " -f3; stat -c '%u:%g %a' /var/www /var/www/index.html; echo kept > /root/f`)
	if out != "fuse.fuse-overlayfs\n33:33 750\n33:33 640\n" {
		t.Errorf("on fuse-overlayfs: %q", out)
	}
	if out := run("cat", "/root/f"); out != "kept\n" {
		t.Errorf("changes on fuse-overlayfs did not persist: %q", out)
	}
	if out := p.output(t, "run", "--image", ref, "--", "cat", "/root/f"); out != "kept\n" {
		t.Errorf("kernel overlayfs over fuse-overlayfs's upper layer: %q", out)
	}
}

// TestProfileShowOnAnImage prints what a run on the image uses: the image
// as the base, its user (root: busybox names none) and its workdir, not
// the host defaults (issue 11).
func TestProfileShowOnAnImage(t *testing.T) {
	_, ref := pushBusybox(t)
	p := imageProject(t, ref)
	p.output(t, "pull", ref)
	out := p.output(t, "profile", "show")
	for _, want := range []string{"base = \"image\"", "image = \"" + ref + "\"", "user = \"root\"", "workdir = \"/var/www\""} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("profile show lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `base = "host"`) || strings.Contains(out, `user = "self"`) {
		t.Errorf("profile show prints the host defaults for an image project:\n%s", out)
	}
}

// TestBoundingSetIsEmpty: the payload's bounding capability set is empty
// for user self and root, on the host base and on an image (issue 11);
// root keeps its capabilities in its namespace, self has none.
func TestBoundingSetIsEmpty(t *testing.T) {
	_, ref := pushBusybox(t)
	host := newProject(t)
	img := imageProject(t, ref)
	for _, p := range []*project{host, img} {
		for _, user := range []string{"self", "root"} {
			out := p.output(t, "run", "--user", user, "--", "cat", "/proc/self/status")
			if !strings.Contains(out, "CapBnd:\t0000000000000000\n") || !strings.Contains(out, "CapAmb:\t0000000000000000\n") {
				t.Errorf("user %s in %s: %s want CapBnd and CapAmb 0", user, p.dir, out)
			}
			if user == "self" && !strings.Contains(out, "CapEff:\t0000000000000000\n") {
				t.Errorf("user self in %s: %s want no capabilities", p.dir, out)
			}
			if user == "root" && strings.Contains(out, "CapEff:\t0000000000000000\n") {
				t.Errorf("user root in %s: %s want root's capabilities in its namespace", p.dir, out)
			}
		}
	}
}
