package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storedImage finds an image's manifest blob, top layer blob and unpacked
// top layer in the store.
func storedImage(t *testing.T, p *project, ref string) (manifest, blob, layer string) {
	t.Helper()
	var list []struct{ Ref, Digest string }
	if err := json.Unmarshal([]byte(p.output(t, "images", "--json")), &list); err != nil || len(list) == 0 {
		t.Fatalf("images --json: %v %v", list, err)
	}
	store := filepath.Join(p.home, ".local/share/sandbox/images")
	blobPath := func(d string) string {
		return filepath.Join(store, "oci/blobs/sha256", strings.TrimPrefix(d, "sha256:"))
	}
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	readJSON(t, blobPath(list[0].Digest), &m)
	readJSON(t, blobPath(m.Config.Digest), &cfg)
	n := len(m.Layers) - 1
	return blobPath(list[0].Digest), blobPath(m.Layers[n].Digest), filepath.Join(store, "layers/sha256", strings.TrimPrefix(cfg.RootFS.DiffIDs[n], "sha256:"))
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// flipByte changes one byte in the middle of path, keeping its size and,
// if keepTime, its mtime.
func flipByte(t *testing.T, path string, keepTime bool) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if keepTime {
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFsckFindsAndRepairsFlippedBytes flips a byte of a stored layer blob
// and of an unpacked layer's file: fsck finds both, --repair fetches and
// unpacks them again, and the image serves the original file.
func TestFsckFindsAndRepairsFlippedBytes(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	p.output(t, "fsck", "--full")
	manifest, blob, layer := storedImage(t, p, ref)
	passwd := filepath.Join(layer, "etc/passwd")
	want, err := os.ReadFile(passwd)
	if err != nil {
		t.Fatal(err)
	}

	// A changed file with its mtime kept escapes the cheap check only.
	flipByte(t, passwd, true)
	if _, _, code := p.run(t, "fsck"); code != 0 {
		t.Errorf("fsck without --full found a change that kept size and mtime (exit %d): the cheap check hashes?", code)
	}
	out, errOut, code := p.run(t, "fsck", "--full")
	if code != 125 || !strings.Contains(out, "etc/passwd: content differs") || !strings.Contains(errOut, "fsck --repair") {
		t.Errorf("fsck --full after a flipped byte in etc/passwd: exit %d\n%s%s", code, out, errOut)
	}
	// A blob's byte, and a file changed the ordinary way (new mtime).
	flipByte(t, blob, false)
	flipByte(t, filepath.Join(layer, "etc/group"), false)
	out, errOut, code = p.run(t, "fsck")
	t.Logf("fsck:\n%s%s", out, errOut)
	if code != 125 || !strings.Contains(out, "blob "+filepath.Base(blob)[:12]) && !strings.Contains(out, "stored blob") ||
		!strings.Contains(out, "etc/group: modified") {
		t.Errorf("fsck after flipped bytes in a blob and etc/group: exit %d\n%s%s", code, out, errOut)
	}
	// A damaged manifest hides what it lists until it is fetched again:
	// the repair checks those then.
	flipByte(t, manifest, false)
	out, errOut, code = p.run(t, "fsck", "--full", "--repair", "--tls-verify=false")
	t.Logf("fsck --repair:\n%s%s", out, errOut)
	if code != 0 || strings.Count(out, "repaired: fetched again") != 2 || !strings.Contains(out, "repaired: unpacked again") {
		t.Fatalf("fsck --repair: exit %d\n%s%s", code, out, errOut)
	}
	p.output(t, "fsck", "--full")
	if got, _ := os.ReadFile(passwd); string(got) != string(want) {
		t.Errorf("after repair etc/passwd = %q, want %q", got, want)
	}
	if out := p.output(t, "run", "--tls-verify=false", "--image", ref, "--", "cat", "/etc/group"); out != "root:x:0:\nwww-data:x:33:\n" {
		t.Errorf("after repair the image serves /etc/group = %q", out)
	}
	// Running the image changes nothing in its layers: no false alarm.
	p.output(t, "fsck", "--full")

	// A layer unpacked by an older sandbox has no record: not damage, but
	// said; --repair unpacks it again, which records it.
	record := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(layer))), "records", filepath.Base(layer)+".json")
	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := p.run(t, "fsck"); code != 0 || !strings.Contains(errOut, "1 layers have no record") {
		t.Errorf("fsck of a layer without a record: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := p.run(t, "fsck", "--repair", "--tls-verify=false"); code != 0 || !strings.Contains(out, "repaired: unpacked again") {
		t.Errorf("fsck --repair of a layer without a record: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(record); err != nil {
		t.Errorf("fsck --repair did not record the layer: %v", err)
	}
}

// TestDamagedBlobIsNamed: push names a damaged blob instead of sending it
// (the registry's DIGEST_INVALID read as a network problem), and pull of
// a stored image with a blob of the wrong size fetches it again.
func TestDamagedBlobIsNamed(t *testing.T) {
	p := newProject(t)
	reg, ref := pushBusybox(t)
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	_, blob, _ := storedImage(t, p, ref)
	flipByte(t, blob, false)
	dst := reg.Host + "/copy:1"
	p.output(t, "tag", ref, dst)
	_, errOut, code := p.run(t, "push", "--tls-verify=false", dst)
	t.Logf("push:\n%s", errOut)
	if code != 125 || !strings.Contains(errOut, "stored blob sha256:"+filepath.Base(blob)[:12]) || !strings.Contains(errOut, "sandbox fsck --repair") || strings.Contains(errOut, "network") {
		t.Errorf("push of an image with a damaged blob: exit %d\n%s", code, errOut)
	}
	if err := os.Truncate(blob, 10); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, errOut, code = p.run(t, "pull", "--tls-verify=false", ref)
	if code != 0 || strings.Contains(errOut, "already stored") {
		t.Errorf("pull of a stored image whose blob was truncated: exit %d\n%s", code, errOut)
	}
	if fi, err := os.Stat(blob); err != nil || fi.ModTime().Before(start) {
		t.Errorf("the truncated blob was not fetched again: %v", err)
	}
	p.output(t, "fsck", "--full")
}

// TestFsckKeepsAnImageASandboxStandsOn: a blob that cannot be fetched
// again (plain HTTP without --tls-verify=false) makes --repair remove its
// image, but not while a project's sandbox stands on it: then it says so.
func TestFsckKeepsAnImageASandboxStandsOn(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	p.output(t, "run", "--tls-verify=false", "--image", ref, "--", "true")
	_, blob, _ := storedImage(t, p, ref)
	flipByte(t, blob, false)
	out, errOut, code := p.run(t, "fsck", "--repair")
	if code != 125 || !strings.Contains(out, "kept: the sandbox of") || !strings.Contains(p.output(t, "images"), "busybox") {
		t.Errorf("fsck --repair of an unfetchable blob of a used image: exit %d\n%s%s", code, out, errOut)
	}
	p.output(t, "reset")
	out, errOut, code = p.run(t, "fsck", "--repair")
	if code != 0 || !strings.Contains(out, "removed "+ref) || strings.Contains(p.output(t, "images"), "busybox") {
		t.Errorf("fsck --repair of an unfetchable blob of an unused image: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(blob); err == nil {
		t.Errorf("the damaged blob %s is still stored", blob)
	}
	store := filepath.Join(p.home, ".local/share/sandbox/images")
	if left, _ := os.ReadDir(filepath.Join(store, "records")); len(left) != 0 {
		t.Errorf("the removed image's layer records are still there: %v", left)
	}
}

// TestFsckRepairUnderARunningSandbox: a layer unpacked again while a
// sandbox runs on it leaves that sandbox's tree whole (the damaged layer
// is set aside, not removed under its overlay).
func TestFsckRepairUnderARunningSandbox(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	_, _, layer := storedImage(t, p, ref)
	cmd := p.command("run", "--tls-verify=false", "--image", ref, "--", "sh", "-c", "echo ready; read x; cat /etc/passwd")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := readAll(stdout)
	out.waitFor(t, 0, "ready")
	flipByte(t, filepath.Join(layer, "etc/group"), false)
	if o, errOut, code := p.run(t, "fsck", "--repair"); code != 0 {
		t.Fatalf("fsck --repair: exit %d\n%s%s", code, o, errOut)
	}
	stdin.Write([]byte("go\n"))
	stdin.Close()
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "www-data") {
		t.Errorf("the running sandbox after its layer was repaired: %v, output %q", err, out.String())
	}
	p.output(t, "fsck", "--full")
}
