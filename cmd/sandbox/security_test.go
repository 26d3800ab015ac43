package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/internal/testenv"
	"sandbox/internal/testregistry"
	"sandbox/landlock"
)

// withProbe puts a copy of this test binary into the project as ./probe
// (the sandbox's /tmp is its own, so the test binary is not visible).
func (p *project) withProbe(t *testing.T) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "probe"), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func (p *project) profile(t *testing.T, toml string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
}

// probeResults runs ./probe NAMES... in the sandbox and returns each
// probe's answer ("ok", "EPERM", ...).
func (p *project) probeResults(t *testing.T, runArgs []string, names ...string) map[string]string {
	t.Helper()
	args := append(append([]string{"run"}, runArgs...), append([]string{"--", "./probe"}, names...)...)
	got := map[string]string{}
	for _, line := range strings.Split(p.output(t, args...), "\n") {
		if name, res, ok := strings.Cut(line, ": "); ok {
			got[name] = res
		}
	}
	return got
}

// Each call the default filter denies fails with the filter's answer, and
// (where the kernel would answer differently) only because of the filter:
// with seccomp = "off" the same call gets the kernel's own answer.
func TestSeccompDenies(t *testing.T) {
	p := newProject(t)
	p.withProbe(t)
	tests := []struct {
		probe string
		want  string // with the default filter
		off   string // with seccomp = "off"; "" when the kernel's answer varies by host
	}{
		{"io_uring_setup", "EPERM", ""},
		{"bpf", "EPERM", "EINVAL"},
		{"perf_event_open", "EPERM", ""},
		{"userfaultfd", "EPERM", "EINVAL"},
		{"add_key", "EPERM", "ok"},
		{"unshare_userns", "EPERM", "EINVAL"},
		{"clone_userns", "EPERM", "ok"},
		{"clone3", "ENOSYS", "EINVAL"},
		{"personality_query", "ok", "ok"},
		{"personality_noaslr", "EPERM", "ok"},
		{"tiocsti", "EPERM", "ok"},
		{"tiocsti_high", "EPERM", "ok"},
		{"tioclinux", "EPERM", ""},
		{"ptrace_child", "ok", "ok"},
	}
	if runtime.GOARCH == "amd64" {
		// x32 calls fail as on a kernel without x32, whether the kernel
		// has it or not.
		tests = append(tests, struct{ probe, want, off string }{"x32_getpid", "ENOSYS", ""},
			struct{ probe, want, off string }{"x32_keyctl", "ENOSYS", ""})
	}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.probe)
	}
	def := p.probeResults(t, nil, names...)
	p.profile(t, "[security]\nseccomp = \"off\"\n")
	off := p.probeResults(t, nil, names...)
	for _, tt := range tests {
		if def[tt.probe] != tt.want {
			t.Errorf("%s with the default filter: %q, want %q", tt.probe, def[tt.probe], tt.want)
		}
		if tt.off != "" && off[tt.probe] != tt.off {
			t.Errorf("%s with seccomp = \"off\": %q, want %q", tt.probe, off[tt.probe], tt.off)
		}
		if tt.off == "" && tt.want != "ok" && off[tt.probe] == tt.want {
			t.Logf("%s: the kernel itself answers %s here too", tt.probe, off[tt.probe])
		}
	}
}

// As root inside, the new mount API stays denied (CVE-2022-0185 was in
// fsconfig); mount(2) is the filter's to allow, but Landlock forbids it.
// Without Landlock (nested_userns = true) root mounts in its own namespace.
func TestSeccompRootMounts(t *testing.T) {
	p := newProject(t)
	p.withProbe(t)
	if got := p.probeResults(t, []string{"--user", "root"}, "fsopen"); got["fsopen"] != "EPERM" {
		t.Errorf("fsopen as root: %q, want EPERM", got["fsopen"])
	}
	p.profile(t, "[security]\nseccomp = \"off\"\n")
	if got := p.probeResults(t, []string{"--user", "root"}, "fsopen"); got["fsopen"] != "ok" {
		t.Errorf("fsopen as root with seccomp = \"off\": %q, want ok", got["fsopen"])
	}
	mount := []string{"run", "--user", "root", "--", "sh", "-c", "mount -t tmpfs t /tmp 2>&1 && echo mounted"}
	if _, err := landlock.ABI(); err == nil {
		p.profile(t, "")
		if out, err := p.command(mount...).CombinedOutput(); err == nil {
			t.Errorf("root mounted a tmpfs under Landlock:\n%s", out)
		}
	}
	p.profile(t, "[security]\nnested_userns = true\n")
	if out := p.output(t, mount...); out != "mounted\n" {
		t.Errorf("mount as root without Landlock: %q", out)
	}
}

// A key the user's session holds on the host is out of the payload's
// reach: keyctl is denied, and where a profile allows it, the payload's
// session keyring is a new one.
func TestSessionKeyringPrivate(t *testing.T) {
	p := newProject(t)
	p.withProbe(t)
	// The session keyring belongs to the thread's credentials: join a
	// fresh one on a locked thread, and start the sandbox from it.
	runtime.LockOSThread() // never unlocked: the thread ends with the test
	if _, err := unix.KeyctlJoinSessionKeyring("sandbox-test-session"); err != nil {
		t.Fatalf("joining a session keyring: %v", err)
	}
	if _, err := unix.AddKey("user", "sandbox-test-canary", []byte("canary-secret"), unix.KEY_SPEC_SESSION_KEYRING); err != nil {
		t.Fatalf("adding the canary key: %v", err)
	}
	for _, tt := range []struct{ profile, want string }{
		{"", "keyring: EPERM\n"},
		{"[security]\nallow_syscalls = [\"keyring\"]\n", "keyring: ENOKEY\n"},
		{"[security]\nseccomp = \"off\"\n", "keyring: ENOKEY\n"},
	} {
		p.profile(t, tt.profile)
		if out := p.output(t, "run", "--", "./probe", "keyring"); out != tt.want {
			t.Errorf("profile %q: %q, want %q", tt.profile, out, tt.want)
		}
	}
}

// `unshare -U` (util-linux) fails inside unless nested_userns = true.
func TestNestedUserns(t *testing.T) {
	p := newProject(t)
	out, err := p.command("run", "--", "unshare", "-Ur", "true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("unshare -Ur in the sandbox: %v\n%s", err, out)
	}
	p.profile(t, "[security]\nnested_userns = true\n")
	if out := p.output(t, "run", "--", "unshare", "-Ur", "id", "-u"); out != "0\n" {
		t.Errorf("unshare -Ur id -u with nested_userns = true: %q, want 0", out)
	}
	// bwrap mounts in the namespaces it makes (not proc: the kernel
	// refuses a new proc where the sandbox's /proc has masks over it).
	testenv.Require(t, testenv.Tool("bwrap"))
	if out := p.output(t, "run", "--", "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--tmpfs", "/tmp", "--unshare-user", "echo", "bwrap-ok"); out != "bwrap-ok\n" {
		t.Errorf("bwrap with nested_userns = true: %q", out)
	}
}

// In network mode proxy, TCP connections reach the proxy only (Landlock
// ABI 4): not a loopback server of the payload's own.
func TestLandlockProxyConnect(t *testing.T) {
	testenv.Require(t, testenv.Landlock(4), testenv.IsolatedNet, testenv.Tool("python3"))
	p := newProject(t)
	p.profile(t, "[network]\nmode = \"proxy\"\nallow = [\"good.test\"]\n")
	script := `
import socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
for port in (srv.getsockname()[1], 3128):
    try:
        socket.create_connection(("127.0.0.1", port)).close(); print(port == 3128 and "proxy ok" or "local ok")
    except OSError as e:
        print(port == 3128 and "proxy" or "local", e.strerror)
`
	out := p.output(t, "run", "--", "/usr/bin/python3", "-c", script)
	if !strings.Contains(out, "local Permission denied") || !strings.Contains(out, "proxy ok") {
		t.Errorf("connections in mode proxy:\n%s\nwant the local one refused (EACCES), the proxy reached", out)
	}
}

// What builds and tests use keeps working under the filter and Landlock:
// go build and go test, pytest, git, strace and gdb of a child, npm test.
func TestWorkloadsUnderFilter(t *testing.T) {
	// The toolchain that built this test (the test user's PATH may lack it).
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	testenv.Require(t, testenv.Tool(goBin), testenv.Tool("git"), testenv.Tool("strace"), testenv.Tool("gdb"), testenv.Tool("/usr/bin/python3"), testenv.Tool("npm"))
	p := newProject(t)
	files := map[string]string{
		"go.mod":         "module example.com/m\n\ngo 1.22\n",
		"m.go":           "package m\n\nfunc Add(a, b int) int { return a + b }\n",
		"m_test.go":      "package m\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"no\")\n\t}\n}\n",
		"cmd/hi/main.go": "package main\n\nimport (\n\t\"os\"\n\t\"os/exec\"\n)\n\nfunc main() {\n\tout, _ := exec.Command(\"echo\", \"child\").Output()\n\tos.Stdout.Write(out)\n}\n",
		"test_py.py":     "def test_add():\n    assert 1 + 2 == 3\n",
		"package.json":   `{"name": "m", "version": "1.0.0", "scripts": {"test": "node test.js"}}`,
		// libuv tries io_uring for file operations and falls back on EPERM.
		"test.js": `const fs = require("fs/promises"), cp = require("child_process");
(async () => {
  await fs.writeFile("/tmp/n.txt", "data");
  if ((await fs.readFile("/tmp/n.txt", "utf8")) !== "data") process.exit(1);
  if (cp.spawnSync("echo", ["x"]).stdout.toString() !== "x\n") process.exit(2);
  console.log("node-ok");
})();
`,
	}
	for name, content := range files {
		path := filepath.Join(p.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -e
export GOCACHE=/tmp/gocache GOPATH=/tmp/gopath GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod
GO=` + goBin + `
$GO build -o /tmp/hi ./cmd/hi && /tmp/hi
$GO test -count=1 . 2>&1 | grep -q '^ok' && echo go-test-ok
/usr/bin/python3 -m pytest -q -p no:cacheprovider test_py.py | grep -q '1 passed' && echo pytest-ok
git init -q /tmp/repo && cd /tmp/repo && echo x > f && git add f && git -c user.name=t -c user.email=t@example.com commit -qm x && git log --oneline | grep -q x && echo git-ok
strace -f -o /dev/null /bin/true && echo strace-ok
gdb -batch -ex run --args /bin/true 2>&1 | grep -q 'exited normally' && echo gdb-ok
cd "$OLDPWD" && npm_config_update_notifier=false npm test --silent
`
	// A build cache that outlives the test: a cold one costs minutes.
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	cache = filepath.Join(cache, "sandbox-test-gocache")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	out := p.output(t, "run", "--mount", cache+":/tmp/gocache", "--", "sh", "-c", script)
	for _, want := range []string{"child", "go-test-ok", "pytest-ok", "git-ok", "strace-ok", "gdb-ok", "node-ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s missing from the workload's output:\n%s", want, out)
		}
	}
}

// apt-get and dpkg (maintainer scripts included) work under the filter in
// a setup step as root on a Debian image: a local package, no network.
func TestAptGetInstallUnderFilter(t *testing.T) {
	testenv.Require(t, testenv.DebianImage, testenv.Tool("dpkg-deb"))
	p := newProject(t)
	reg := testregistry.Start(t)
	ref := reg.Push(t, os.Getenv("SANDBOX_TEST_DEBIAN_OCI"), "minbase", "debian:minbase")
	pkg := filepath.Join(t.TempDir(), "pkg")
	files := map[string]string{
		"DEBIAN/control":             "Package: sandbox-test-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <test@example.com>\nDescription: a test package\n",
		"DEBIAN/postinst":            "#!/bin/sh\nset -e\necho postinst-ran > /var/lib/sandbox-test-hello\n",
		"usr/bin/sandbox-test-hello": "#!/bin/sh\necho hello-from-deb\n",
	}
	for name, content := range files {
		path := filepath.Join(pkg, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", pkg, filepath.Join(p.dir, "hello.deb")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	host := strings.Split(ref, "/")[0]
	p.profile(t, `image = "`+ref+`"
insecure_registries = ["`+host+`"]

[[setup]]
run = "apt-get install -y $PWD/hello.deb"
inputs = ["hello.deb"]
`)
	out, errOut, code := p.run(t, "run", "--", "sh", "-c", "sandbox-test-hello; cat /var/lib/sandbox-test-hello; grep Seccomp: /proc/self/status")
	if code != 0 || !strings.Contains(out, "hello-from-deb\npostinst-ran\n") {
		t.Fatalf("apt-get install in a setup step: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("the payload on the image runs without the filter: %s", out)
	}
}
