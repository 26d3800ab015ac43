package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"sandbox/internal/testenv"
	"sandbox/internal/testregistry"
)

// TestHostileImageChangesNothing pulls, through the real registry and the
// user-namespace unpacker, an image whose second layer writes through a
// symlink to the user's home: exit 125, nothing stored, nothing written.
func TestHostileImageChangesNothing(t *testing.T) {
	p := newProject(t)
	reg := testregistry.Start(t)
	target := filepath.Join(p.home, "victim")
	os.Mkdir(target, 0o755)
	good := tarLayer(t, tar.Header{Name: "ok", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2}, "ok")
	evil := tarLayer(t,
		tar.Header{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}, "",
		tar.Header{Name: "escape/pwned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5}, "owned")
	ref := pushLayers(t, reg.Host+"/evil:1", good, evil)
	before := listHome(t, p.home)
	_, errOut, code := p.run(t, "pull", "--tls-verify=false", ref)
	if code != 125 || !strings.Contains(errOut, "refusing the image") || !strings.Contains(errOut, "hint:") {
		t.Errorf("pull of a hostile image: code %d, stderr %q; want 125 and a refusal with a hint", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(target, "pwned")); err == nil {
		t.Fatal("the image wrote outside its layer")
	}
	if out := p.output(t, "images"); strings.Contains(out, "evil") {
		t.Errorf("the refused image is listed:\n%s", out)
	}
	for _, d := range []string{"layers/sha256", "oci/blobs/sha256", "tmp"} {
		if left, _ := os.ReadDir(filepath.Join(p.home, ".local/share/sandbox/images", d)); len(left) != 0 {
			t.Errorf("the refused image left %d entries in the store's %s", len(left), d)
		}
	}
	after := listHome(t, p.home)
	if !slices.Equal(before, after) {
		t.Errorf("files outside the image store changed:\nbefore %v\nafter  %v", before, after)
	}
	_, _, code = p.run(t, "run", "--tls-verify=false", "--image", ref, "--", "true")
	if code != 125 {
		t.Errorf("run on a hostile image: exit %d, want 125", code)
	}
}

// TestKilledPullIsRedone kills `sandbox pull` of the Debian image part-way
// (SIGKILL: no cleanup of its own) and pulls again.
func TestKilledPullIsRedone(t *testing.T) {
	testenv.Require(t, testenv.DebianImage)
	p := newProject(t)
	reg := testregistry.Start(t)
	ref := reg.Push(t, os.Getenv("SANDBOX_TEST_DEBIAN_OCI"), "minbase", "debian:minbase")
	// Kill points: while a blob downloads; while the layer unpacks.
	tmp := filepath.Join(p.home, ".local/share/sandbox/images/tmp")
	for _, at := range []string{"blob-*", "layer-*"} {
		cmd := p.command("pull", "--tls-verify=false", "-q", ref)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !killWhen(t, cmd, func() bool { return globCount(filepath.Join(tmp, at)) > 0 }) {
			// The pull finished before the kill: nothing to check this round.
			t.Logf("pull finished before a temporary %s appeared", at)
		}
	}
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	if out := p.output(t, "run", "--ephemeral", "--tls-verify=false", "--image", ref, "--", "cat", "/etc/debian_version"); !strings.HasPrefix(out, "12") {
		t.Errorf("after a killed pull and a new one, the image runs with /etc/debian_version %q", out)
	}
	p.output(t, "prune")
	if left, _ := os.ReadDir(filepath.Join(p.home, ".local/share/sandbox/images/tmp")); len(left) != 0 {
		t.Errorf("prune left temporaries: %v", left)
	}
}

func tarLayer(t *testing.T, entries ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		h := entries[i].(tar.Header)
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(entries[i+1].(string)))
	}
	tw.Close()
	return buf.Bytes()
}

// pushLayers pushes an image of raw tar layers with ggcr: hostile images
// are what no honest tool makes.
func pushLayers(t *testing.T, ref string, layers ...[]byte) string {
	t.Helper()
	var img v1.Image = empty.Image
	for _, l := range layers {
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(l)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// listHome lists the home outside sandbox's data.
func listHome(t *testing.T, home string) []string {
	t.Helper()
	var out []string
	filepath.Walk(home, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(home, path)
		if rel == ".local" || rel == ".local/share" || strings.HasPrefix(rel, ".local/share/sandbox") {
			return nil
		}
		out = append(out, rel)
		return nil
	})
	return out
}

// TestLayerLimitsAreConfigurable refuses a real image over a lowered
// entry limit, naming the way to raise it, and takes it at the default.
func TestLayerLimitsAreConfigurable(t *testing.T) {
	p := newProject(t)
	_, ref := pushBusybox(t)
	_, errOut, code := p.run(t, "pull", "--tls-verify=false", "--max-layer-files", "3", ref)
	if code != 125 || !strings.Contains(errOut, "more than 3 entries") || !strings.Contains(errOut, "--max-layer-files") {
		t.Errorf("pull over the entry limit: code %d, stderr %q", code, errOut)
	}
	cmd := p.command("pull", "--tls-verify=false", "-q", ref)
	cmd.Env = append(cmd.Env, "SANDBOX_MAX_LAYER_SIZE=1KiB")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "exceeds the limit of 1024 bytes") {
		t.Errorf("pull over SANDBOX_MAX_LAYER_SIZE: %v %s", err, out)
	}
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
}
