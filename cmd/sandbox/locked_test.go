package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sandbox/profiles"
)

// stampStep writes the time: a step that gives another layer on every
// build (busybox's date has no %N, /proc/uptime has centiseconds).
const stampStep = "date > /stamp && cat /proc/uptime >> /stamp"

// lockedProject is a project with setupProfile's steps (and extra ones)
// and deps.txt, in a store of its own.
func lockedProject(t *testing.T, ref string, extra ...string) *project {
	t.Helper()
	p := newProject(t)
	body := setupProfile(ref, "cp $PWD/deps.txt /opt/deps")
	for _, run := range extra {
		body += "\n[[setup]]\nrun = \"" + run + "\"\n"
	}
	p.write(t, "sandbox.toml", body)
	p.write(t, "deps.txt", "same\n")
	return p
}

func (p *project) write(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (p *project) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rootfsTree lists the image's tree as a run sees it: every path with
// its mode, owner, size and mtime, and the content of the steps' files.
// /etc and /tmp are left out but for the image's files: a run makes
// mountpoints there (the project's path, /etc/hosts).
func rootfsTree(t *testing.T, p *project) string {
	t.Helper()
	return p.output(t, "run", "--locked", "--ephemeral", "--", "sh", "-c",
		`find /bin /etc/passwd /etc/group /opt /root /var -xdev | sort | while read f; do stat -c '%n %f %u:%g %s %Y' "$f"; done; cat /opt/one /opt/deps`)
}

// TestLockedBuildsInTwoStores builds one profile in two fresh stores:
// the lock of the first holds in the second (same keys, layers and
// rootfs); SOURCE_DATE_EPOCH changes the keys; --locked and lock --check
// refuse what differs.
func TestLockedBuildsInTwoStores(t *testing.T) {
	_, ref := pushBusybox(t)
	a, b := lockedProject(t, ref), lockedProject(t, ref)
	a.output(t, "lock")
	a.output(t, "build")
	lockA := a.read(t, profiles.LockFileName)
	if _, errOut, code := a.run(t, "build", "--locked"); code != 0 || strings.Count(errOut, "(cached)") != 2 {
		t.Fatalf("build --locked where the lock was written: code %d\n%s", code, errOut)
	}

	// Without a lock, --locked refuses.
	if _, errOut, code := b.run(t, "build", "--locked"); code != 125 || !strings.Contains(errOut, "has no sandbox.lock") {
		t.Errorf("build --locked without a lock: code %d\n%s", code, errOut)
	}
	b.write(t, profiles.LockFileName, lockA)
	if _, errOut, code := b.run(t, "lock", "--check"); code != 1 || !strings.Contains(errOut, "is not built in this store") {
		t.Errorf("lock --check before building: code %d, want 1\n%s", code, errOut)
	}
	if _, errOut, code := b.run(t, "build", "--locked"); code != 0 {
		t.Fatalf("the first store's lock in a fresh store: code %d\n%s", code, errOut)
	}
	if got := b.read(t, profiles.LockFileName); got != lockA {
		t.Errorf("build --locked rewrote the lock:\n%s\nwas:\n%s", got, lockA)
	}
	if _, errOut, code := b.run(t, "lock", "--check"); code != 0 || !strings.Contains(errOut, "matches") {
		t.Errorf("lock --check after building the same: code %d\n%s", code, errOut)
	}
	if ta, tb := rootfsTree(t, a), rootfsTree(t, b); ta != tb || !strings.Contains(ta, "/opt/deps 81a4 0:0 5 ") {
		t.Errorf("the two stores' root filesystems differ:\n%s\n---\n%s", ta, tb)
	}

	// SOURCE_DATE_EPOCH is part of the key: set here, not there.
	sde := []string{"SOURCE_DATE_EPOCH=1000000000"}
	_, errOut, code := b.runResult(t, sde, "build", "--locked")
	if code != 125 || !regexp.MustCompile(`setup step 1/2 \(.*sandbox.toml:5\) does not match sandbox.lock`).MatchString(errOut) ||
		!strings.Contains(errOut, "expected cache key") || !strings.Contains(errOut, "SOURCE_DATE_EPOCH") {
		t.Errorf("build --locked with SOURCE_DATE_EPOCH set: code %d\n%s", code, errOut)
	}
	if _, errOut, code := b.runResult(t, sde, "lock", "--check"); code != 1 || !strings.Contains(errOut, "cache key") {
		t.Errorf("lock --check with SOURCE_DATE_EPOCH set: code %d\n%s", code, errOut)
	}
	if _, errOut, code := b.runResult(t, sde, "build"); code != 0 {
		t.Fatalf("build with SOURCE_DATE_EPOCH: code %d\n%s", code, errOut)
	}
	la, _ := profiles.ReadLock(a.dir)
	lb, err := profiles.ReadLock(b.dir)
	if err != nil || len(lb.Steps) != 2 {
		t.Fatalf("lock after the build with SOURCE_DATE_EPOCH: %+v %v", lb, err)
	}
	for i := range lb.Steps {
		if lb.Steps[i].Key == la.Steps[i].Key {
			t.Errorf("step %d: the same key %s with and without SOURCE_DATE_EPOCH", i+1, la.Steps[i].Key)
		}
	}
	// The first step's file is newer than both clamp times: its layer differs too.
	if lb.Steps[0].Layer == la.Steps[0].Layer {
		t.Errorf("step 1: the same layer with and without SOURCE_DATE_EPOCH; the test does not show a clamp")
	}
}

// TestLockedBuildFindsAStepThatWritesTheTime: --locked passes where the
// lock was written (the step is cached) and stops a build elsewhere at
// the step, with both digests and the path that differs.
func TestLockedBuildFindsAStepThatWritesTheTime(t *testing.T) {
	_, ref := pushBusybox(t)
	a, b := lockedProject(t, ref, stampStep), lockedProject(t, ref, stampStep)
	a.output(t, "lock")
	a.output(t, "build")
	la, err := profiles.ReadLock(a.dir)
	if err != nil || len(la.Steps) != 3 {
		t.Fatalf("lock: %+v %v", la, err)
	}
	if _, errOut, code := a.run(t, "run", "--locked", "--", "cat", "/stamp"); code != 0 {
		t.Fatalf("run --locked where the lock was written: code %d\n%s", code, errOut)
	}

	// Elsewhere (SANDBOX_LOCKED=1, as CI sets it): the lock's layer is not
	// here, so the step is built twice to find what differs.
	b.write(t, profiles.LockFileName, a.read(t, profiles.LockFileName))
	_, errOut, code := b.runResult(t, []string{"SANDBOX_LOCKED=1"}, "run", "--", "cat", "/stamp")
	want := regexp.MustCompile(`(?s)setup step 3/3 \(.*sandbox.toml:12\) does not match sandbox.lock: date.*` +
		`expected layer ` + regexp.QuoteMeta(la.Steps[2].Layer) + `.*actual   layer sha256:[0-9a-f]{64}.*another layer on each build.*/stamp: (content|size)`)
	if code != 125 || !want.MatchString(errOut) {
		t.Errorf("SANDBOX_LOCKED=1 run elsewhere: code %d, stderr:\n%s", code, errOut)
	}
	if regexp.MustCompile(`sandbox:\s+/opt/`).MatchString(errOut) {
		t.Errorf("paths of the reproducible steps are listed as differing:\n%s", errOut)
	}

	// Where the lock was written, with its layer still stored but the
	// step's cache entry gone: the diff is against the lock's layer.
	a.output(t, "tag", "sandbox.local/setup:"+la.Steps[2].Key, "sandbox.local/keep:1")
	a.output(t, "rmi", "--force", "sandbox.local/setup:"+la.Steps[2].Key)
	_, errOut, code = a.run(t, "build", "--locked")
	if code != 125 || !strings.Contains(errOut, "first: the lock's layer") || !strings.Contains(errOut, "/stamp: ") {
		t.Errorf("build --locked of a rebuilt step with the lock's layer at hand: code %d\n%s", code, errOut)
	}
	if _, errOut, code := a.run(t, "lock", "--check"); code != 1 || !strings.Contains(errOut, "setup step 3/3") {
		t.Errorf("lock --check after the step changed: code %d\n%s", code, errOut)
	}
}
