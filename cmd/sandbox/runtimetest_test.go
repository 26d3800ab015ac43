package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sandbox/internal/testenv"
	"sandbox/mounts"
)

// deliberateDifferences are the runtimetest lines allowed to fail: the
// guide's "Kernel surface" section names each deliberate difference (keep
// the two in step). The one difference, a full bounding set, is stated in
// the config itself, so none fails today.
var deliberateDifferences = []*regexp.Regexp{}

// runtimeConfig is what the default profile promises, as an OCI runtime
// config: the checks runtimetest can make from inside.
func runtimeConfig(cwd string) map[string]any {
	var allCaps []string
	for _, c := range strings.Fields(`CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
		LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
		SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD
		LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
		PERFMON BPF CHECKPOINT_RESTORE`) {
		allCaps = append(allCaps, "CAP_"+c)
	}
	tmpfs := func(dest string) map[string]any { return map[string]any{"destination": dest, "type": "tmpfs"} }
	return map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"user": map[string]any{"uid": os.Getuid(), "gid": os.Getgid()},
			"args": []string{"./runtimetest"},
			"cwd":  cwd,
			// No capabilities to use; the bounding set is the payload's
			// own namespace's, and no_new_privs keeps exec from using it.
			"noNewPrivileges": true,
			"capabilities": map[string]any{"bounding": allCaps, "effective": []string{}, "inheritable": []string{},
				"permitted": []string{}, "ambient": []string{}},
		},
		"root":     map[string]any{"path": "/", "readonly": true},
		"hostname": "sandbox",
		"mounts": []map[string]any{
			tmpfs("/tmp"), tmpfs("/run"), tmpfs("/dev"),
			{"destination": "/dev/pts", "type": "devpts"}, tmpfs("/dev/shm"),
			{"destination": "/dev/mqueue", "type": "mqueue"},
			{"destination": "/proc", "type": "proc"},
			{"destination": "/sys", "type": "sysfs"},
		},
		"linux": map[string]any{
			"maskedPaths":   mounts.MaskedPaths,
			"readonlyPaths": mounts.ReadonlyPaths,
		},
	}
}

// The OCI runtime-tools runtimetest checks, from inside a sandbox of the
// default profile, what the config above promises: every line passes but
// the deliberate differences.
func TestRuntimeTest(t *testing.T) {
	testenv.Require(t, testenv.RuntimeTest)
	p := newProject(t)
	bin, err := os.ReadFile(os.Getenv("SANDBOX_TEST_RUNTIMETEST"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "runtimetest"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	config, err := json.MarshalIndent(runtimeConfig(p.dir), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := p.command("run", "--", "./runtimetest").CombinedOutput()
	passed := 0
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "ok "):
			passed++
		case strings.HasPrefix(line, "not ok "):
			if !deliberate(line) {
				t.Errorf("runtimetest: %s", line)
			}
		case strings.HasPrefix(line, "panic:"):
			t.Errorf("runtimetest crashed:\n%s", out)
		}
	}
	if passed < 100 {
		t.Errorf("runtimetest passed %d checks, want at least 100:\n%s", passed, out)
	}
	t.Logf("runtimetest: %d checks passed", passed)
}

func deliberate(line string) bool {
	for _, re := range deliberateDifferences {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}
