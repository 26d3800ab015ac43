package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A run that needs no id but the user's own (host base, user = "self", no
// devices, no other group than the primary one) maps it directly, as
// bubblewrap does: neither newuidmap nor newgidmap runs. Fakes of both,
// first on PATH, record any call and fail; a run as root needs the
// subordinate range and still goes through them.
func TestOwnIDsMappedDirectly(t *testing.T) {
	p := newProject(t)
	fake := t.TempDir()
	calls := filepath.Join(fake, "calls")
	for _, h := range []string{"newuidmap", "newgidmap"} {
		script := "#!/bin/sh\necho \"$0 $*\" >>" + calls + "\necho \"fake $0 refuses\" >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(fake, h), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		cmd := p.command(args...)
		cmd.Env = append(cmd.Env, "PATH="+fake+":"+os.Getenv("PATH"))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	called := func() string { b, _ := os.ReadFile(calls); return string(b) }

	ownOnly := true
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		ownOnly = ownOnly && g == os.Getgid()
	}
	out, errOut, err := run("run", "--", "sh", "-c", "id -u; id -g; touch made-by-self")
	if !ownOnly {
		// The payload must drop the other groups: that needs the full map.
		if err == nil || called() == "" {
			t.Fatalf("with groups %v the run did not go through newuidmap: %v\n%s", groups, err, errOut)
		}
	} else {
		if err != nil {
			t.Fatalf("sandbox run: %v\n%s", err, errOut)
		}
		if c := called(); c != "" {
			t.Errorf("the default run started the id helpers:\n%s", c)
		}
		if want := strconv.Itoa(os.Getuid()) + "\n" + strconv.Itoa(os.Getgid()) + "\n"; out != want {
			t.Errorf("ids inside %q, want %q", out, want)
		}
		fi, err := os.Stat(filepath.Join(p.dir, "made-by-self"))
		if err != nil {
			t.Fatal(err)
		}
		if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != os.Getuid() {
			t.Errorf("a file made inside belongs to uid %d on the host, want %d", uid, os.Getuid())
		}
	}
	if _, errOut, err := run("run", "--user", "root", "--", "true"); err == nil || !strings.Contains(errOut, "fake") {
		t.Errorf("a run as root did not use the (fake, failing) newuidmap: %v\n%s", err, errOut)
	}
	if !strings.Contains(called(), "newuidmap") {
		t.Errorf("newuidmap was not called for the run as root; calls:\n%s", called())
	}
}
