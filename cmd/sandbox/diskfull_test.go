package main

import (
	"archive/tar"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sandbox/internal/testregistry"
)

// TestPullOnAFullDiskSaysSo pulls an image larger than the file system
// that holds the store: a 4 MiB tmpfs, mounted in a user and mount
// namespace of the test's own (so no root is needed; there the user is
// root without subordinate ids, which stores images without owners). The
// error must name the full disk and the store, not the network.
func TestPullOnAFullDiskSaysSo(t *testing.T) {
	p := newProject(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("unshare (util-linux) not found")
	}
	reg := testregistry.Start(t)
	body := make([]byte, 8<<20)
	rand.Read(body) // incompressible: the blob alone overflows the disk
	ref := pushLayers(t, reg.Host+"/big:1", tarLayer(t,
		tar.Header{Name: "big", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}, string(body)))
	data := filepath.Join(p.home, ".local/share")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := p.command("pull", "--tls-verify=false", ref)
	cmd.Args = []string{"unshare", "-Urm", "sh", "-c", `mount -t tmpfs -o size=4m tmpfs "$0" && exec sandbox "$@"`, data, "pull", "--tls-verify=false", ref}
	cmd.Path, _ = exec.LookPath("unshare")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 125 {
		t.Fatalf("pull onto a full disk: %v, want exit 125\n%s", err, out)
	}
	store := filepath.Join(data, "sandbox/images")
	if !strings.Contains(string(out), "no space left on device") || !strings.Contains(string(out), "hint: the disk that holds the image store ("+store+") is full") {
		t.Errorf("pull onto a full disk says:\n%s\nwant the disk-full hint naming %s", out, store)
	}
	if strings.Contains(string(out), "network") {
		t.Errorf("pull onto a full disk points at the network:\n%s", out)
	}
}
