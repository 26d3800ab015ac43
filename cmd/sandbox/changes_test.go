package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sandbox/internal/testenv"
)

// imageProject is a project whose profile runs on ref from a plain-HTTP
// test registry.
func imageProject(t *testing.T, ref string) *project {
	t.Helper()
	p := newProject(t)
	host := strings.Split(ref, "/")[0]
	profile := "image = \"" + ref + "\"\ninsecure_registries = [\"" + host + "\"]\n"
	if err := os.WriteFile(filepath.Join(p.dir, "sandbox.toml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// change is the same change for every test: an added file, a deleted one,
// a changed one, and a directory of www-data with an unreadable file.
const change = `echo hi > /root/new; rm /bin/ls; echo more >> /etc/passwd; mkdir -p /opt/x; echo secret > /opt/x/f; chmod 000 /opt/x/f; chown 33:33 /opt/x /opt/x/f`

func TestDiffCommitHistoryRollback(t *testing.T) {
	_, ref := pushBusybox(t)
	p := imageProject(t, ref)
	p.output(t, "run", "--", "sh", "-c", change)
	want := "C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nA /opt\nA /opt/x\nA /opt/x/f\nC /root\nA /root/new\n"
	if out := p.output(t, "diff"); out != want {
		t.Errorf("diff:\n%s\nwant:\n%s", out, want)
	}
	// Files the user cannot read (mode 000, owned by a subuid) commit too.
	p.output(t, "commit", "-m", "tools")
	if out := p.output(t, "diff"); out != "" {
		t.Errorf("diff after commit: %q, want nothing", out)
	}
	check := `cat /root/new; ls /bin/ls 2>/dev/null || echo no-ls; tail -1 /etc/passwd; stat -c '%u:%g %a' /opt/x /opt/x/f`
	committed := "hi\nno-ls\nmore\n33:33 755\n33:33 0\n"
	if out := p.output(t, "run", "--", "sh", "-c", check); out != committed {
		t.Errorf("after commit:\n%s\nwant:\n%s", out, committed)
	}
	hist := p.output(t, "history")
	if lines := strings.Split(strings.TrimSpace(hist), "\n"); len(lines) < 3 || !strings.Contains(lines[1], "sandbox commit") || !strings.Contains(lines[1], "tools") {
		t.Errorf("history does not start with the commit:\n%s", hist)
	}
	// rollback without REV drops uncommitted changes only.
	p.output(t, "run", "--", "sh", "-c", "rm /root/new; touch /root/later")
	p.output(t, "rollback")
	if out := p.output(t, "run", "--", "sh", "-c", "cat /root/new; ls /root"); out != "hi\nnew\n" {
		t.Errorf("after rollback: %q", out)
	}
	// Back to the image, and forward to the commit again.
	p.output(t, "rollback", "base")
	if out := p.output(t, "run", "--", "sh", "-c", "ls /root; ls /bin/ls"); out != "/bin/ls\n" {
		t.Errorf("after rollback base: %q", out)
	}
	p.output(t, "rollback", "1")
	if out := p.output(t, "run", "--", "sh", "-c", check); out != committed {
		t.Errorf("after rollback 1: %q", out)
	}
	_, errOut, code := p.run(t, "rollback", "nope")
	if code != 125 || !strings.Contains(errOut, `unknown revision "nope"`) || !strings.Contains(errOut, "base (") || !strings.Contains(errOut, `1 (`) {
		t.Errorf("rollback to an unknown REV: code %d, stderr %q; want 125 and the known revisions", code, errOut)
	}
}

// TestCommitRunsInPodmanAndPushesOnlyNewBlobs pushes a committed image and
// runs it with podman: same files, owners and modes. A second commit's
// push sends only its own layer and config.
func TestCommitRunsInPodmanAndPushesOnlyNewBlobs(t *testing.T) {
	testenv.Require(t, testenv.Tool("podman"), testenv.Tool("runc"))
	reg, ref := pushBusybox(t)
	p := imageProject(t, ref)
	p.output(t, "run", "--", "sh", "-c", change)
	dst := reg.Host + "/me/dev:1"
	p.output(t, "commit", "-m", "one", "--tag", dst)
	before := len(reg.Uploads())
	p.output(t, "push", "--tls-verify=false", dst)
	first := reg.Uploads()[before:]
	if len(first) != 3 {
		t.Errorf("the first push uploaded %d blobs, want 3 (base layer, new layer, config): %v", len(first), first)
	}
	// podman wants a short runroot.
	root, err := os.MkdirTemp("/tmp", "pm")
	if err != nil {
		t.Fatal(err)
	}
	podman := func(args ...string) string {
		t.Helper()
		base := []string{"--root", root + "/root", "--runroot", root + "/run", "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs"}
		cmd := exec.Command("podman", append(base, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+p.home, "XDG_RUNTIME_DIR="+p.runtime)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("podman %v: %v\n%s", args, err, stderr)
		}
		return string(out)
	}
	t.Cleanup(func() { podman("system", "reset", "-f"); os.RemoveAll(root) })
	check := `cat /root/new; ls /bin/ls 2>/dev/null || echo no-ls; tail -1 /etc/passwd; stat -c '%u:%g %a' /opt/x /opt/x/f /var/www /var/www/index.html /bin/suid-marker`
	want := p.output(t, "run", "--", "sh", "-c", check)
	if got := podman("run", "--rm", "--network", "none", "--tls-verify=false", "-q", dst, "sh", "-c", check); got != want {
		t.Errorf("podman run of the pushed commit:\n%s\nsandbox:\n%s", got, want)
	}
	// A second commit on top: only its layer and config are new.
	p.output(t, "run", "--", "sh", "-c", "echo two > /root/two")
	dst2 := reg.Host + "/me/dev:2"
	p.output(t, "commit", "-m", "two", "--tag", dst2)
	before = len(reg.Uploads())
	p.output(t, "push", "--tls-verify=false", dst2)
	if second := reg.Uploads()[before:]; len(second) != 2 {
		t.Errorf("the second push uploaded %d blobs, want 2 (its layer and config): %v", len(second), second)
	}
}

// TestCommitIsReproducible makes the same change in two fresh stores (two
// users' machines, as far as sandbox can tell) and compares the layers.
func TestCommitIsReproducible(t *testing.T) {
	_, ref := pushBusybox(t)
	var digests []string
	for range 2 {
		p := imageProject(t, ref)
		p.output(t, "run", "--", "sh", "-c", change)
		cmd := p.command("commit", "-m", "same")
		cmd.Env = append(cmd.Env, "SOURCE_DATE_EPOCH=1700000000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("commit: %v\n%s", err, out)
		}
		var hist []struct {
			Layer string `json:"layer"`
		}
		if err := jsonUnmarshal(p.output(t, "history", "--json"), &hist); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, hist[len(hist)-1].Layer)
	}
	if digests[0] == "" || digests[0] != digests[1] {
		t.Errorf("the same change committed twice gave layers %v", digests)
	}
}

// TestKilledCommitLeavesAUsableSandbox kills `sandbox commit` part-way
// (SIGKILL, at several points) and checks the sandbox still runs with the
// change, and a new commit completes.
func TestKilledCommitLeavesAUsableSandbox(t *testing.T) {
	_, ref := pushBusybox(t)
	p := imageProject(t, ref)
	p.output(t, "run", "--", "sh", "-c", "dd if=/dev/urandom of=/root/big bs=1M count=40 2>/dev/null; echo hi > /root/new")
	// Kill points: at once; while the layer is being packed; once the
	// layer blob is in the store, before the image and sandbox point to it.
	store := filepath.Join(p.home, ".local/share/sandbox/images")
	points := []struct {
		name string
		when func(blobs int) bool
	}{
		{"at start", func(int) bool { return true }},
		{"while packing", func(int) bool { return globSize(filepath.Join(store, "tmp/commit-*")) > 1<<20 }},
		{"with the layer stored", func(blobs int) bool { return globCount(filepath.Join(store, "oci/blobs/sha256/*")) > blobs }},
	}
	for _, at := range points {
		blobs := globCount(filepath.Join(store, "oci/blobs/sha256/*"))
		cmd := p.command("commit", "-m", "killed")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !killWhen(t, cmd, func() bool { return at.when(blobs) }) {
			t.Logf("the commit ended before the kill point %q (blobs %d -> %d)", at.name, blobs, globCount(filepath.Join(store, "oci/blobs/sha256/*")))
		}
		if out := p.output(t, "run", "--", "sh", "-c", "cat /root/new; wc -c < /root/big"); out != "hi\n41943040\n" {
			t.Fatalf("after a commit killed %s the sandbox shows %q", at.name, out)
		}
	}
	// A killed commit may have finished everything but clearing the
	// changes: committing them again gives the same layer twice, which
	// must still run.
	if p.output(t, "diff") != "" {
		p.output(t, "commit", "-m", "done")
	}
	if out := p.output(t, "diff"); out != "" {
		t.Errorf("diff after the commit: %q", out)
	}
	if out := p.output(t, "run", "--", "cat", "/root/new"); out != "hi\n" {
		t.Errorf("after the commit: %q", out)
	}
}

// TestCommitInAProjectNamedLikeARealOne commits, lists and rolls back in a
// project directory whose name is no valid OCI repository name as it is
// (capitals, a dot): issue 11.
func TestCommitInAProjectNamedLikeARealOne(t *testing.T) {
	_, ref := pushBusybox(t)
	p := imageProject(t, ref)
	dir := filepath.Join(filepath.Dir(p.dir), "MyApp.Lupa8D")
	if err := os.Rename(p.dir, dir); err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	p.output(t, "run", "--", "sh", "-c", "echo hi > /root/new")
	p.output(t, "commit", "-m", "named")
	hist := p.output(t, "history")
	if !strings.Contains(hist, "named") {
		t.Errorf("history does not show the commit:\n%s", hist)
	}
	p.output(t, "rollback", "base")
	p.output(t, "rollback", "1")
	if out := p.output(t, "run", "--", "cat", "/root/new"); out != "hi\n" {
		t.Errorf("after rollback 1: %q", out)
	}
}

// TestDiffListsWhatARecreatedDirectoryHid removes a directory of the
// image and makes it again: its old files are deletions, in both the
// text and the JSON diff (issue 11).
func TestDiffListsWhatARecreatedDirectoryHid(t *testing.T) {
	_, ref := pushBusybox(t)
	p := imageProject(t, ref)
	p.output(t, "run", "--", "sh", "-c", "cd /; rm -rf /var/www; mkdir /var/www; echo n > /var/www/new")
	if out := p.output(t, "diff"); !strings.Contains(out, "D /var/www/index.html\n") || !strings.Contains(out, "A /var/www/new\n") {
		t.Errorf("diff:\n%s\nwant D /var/www/index.html and A /var/www/new", out)
	}
	var changes []struct{ Kind, Path string }
	if err := jsonUnmarshal(p.output(t, "diff", "--json"), &changes); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range changes {
		found = found || c.Kind == "D" && c.Path == "/var/www/index.html"
	}
	if !found {
		t.Errorf("diff --json = %+v, want D /var/www/index.html", changes)
	}
}

// TestPullAndPushHonourInsecureRegistries pulls and pushes with the
// plain-HTTP registry listed in the profile's insecure_registries and no
// --tls-verify=false, as run does (issue 11).
func TestPullAndPushHonourInsecureRegistries(t *testing.T) {
	reg, ref := pushBusybox(t)
	p := imageProject(t, ref)
	if out, errOut, code := p.run(t, "pull", ref); code != 0 {
		t.Fatalf("pull of a registry in insecure_registries: code %d, out %q, stderr %s", code, out, errOut)
	}
	p.output(t, "run", "--", "sh", "-c", "echo hi > /root/new")
	dst := reg.Host + "/me/insecure:1"
	p.output(t, "commit", "--tag", dst)
	if out, errOut, code := p.run(t, "push", dst); code != 0 {
		t.Fatalf("push to a registry in insecure_registries: code %d, out %q, stderr %s", code, out, errOut)
	}
	// Not listed (another project): refused, with the advice to list it.
	q := newProject(t)
	_, errOut, code := q.run(t, "pull", ref)
	if code == 0 || !strings.Contains(errOut, "insecure_registries") {
		t.Errorf("pull of an unlisted plain-HTTP registry: code %d, stderr %s; want a failure naming insecure_registries", code, errOut)
	}
}

// TestPushAfterCommitPushesTheHead: `sandbox push REF` after a commit with
// no --tag names the sandbox's current commit REF and pushes it; with no
// commit the error says how to name an image (issue 11).
func TestPushAfterCommitPushesTheHead(t *testing.T) {
	reg, ref := pushBusybox(t)
	p := imageProject(t, ref)
	p.output(t, "run", "--", "true")
	dst := reg.Host + "/me/head:1"
	_, errOut, code := p.run(t, "push", dst)
	if code == 0 || !strings.Contains(errOut, "commit --tag "+dst) || !strings.Contains(errOut, "sandbox tag") {
		t.Errorf("push with nothing committed: code %d, stderr %s; want a failure naming commit --tag and tag", code, errOut)
	}
	p.output(t, "run", "--", "sh", "-c", "echo hi > /root/new")
	p.output(t, "commit", "-m", "head")
	if out, errOut, code := p.run(t, "push", dst); code != 0 {
		t.Fatalf("push after commit: code %d, out %q, stderr %s", code, out, errOut)
	}
	// What the registry has is the commit: pull it into a fresh project.
	q := imageProject(t, dst)
	if out := q.output(t, "run", "--", "cat", "/root/new"); out != "hi\n" {
		t.Errorf("the pushed image shows %q, want the committed file", out)
	}
}
