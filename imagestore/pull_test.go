package imagestore

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPullUnpacksLayersWithWhiteouts(t *testing.T) {
	tr := newRegistry(t)
	base := layerTar(t,
		dir("etc/", 0o755), file("etc/os-release", "ID=test\n", 0o644),
		dir("old/", 0o755), file("old/a", "a", 0o644), file("gone", "x", 0o644),
		file("bin/su", "suid", 0o4755), symlink("bin/sh", "/bin/busybox"),
		hardlink("bin/su2", "bin/su"),
	)
	top := layerTar(t, file(".wh.gone", "", 0), dir("old/", 0o755), file("old/.wh..wh..opq", "", 0), file("old/b", "b", 0o600))
	ref := tr.push(t, "test/img:1", image(t, base, top))
	s := openStore(t, Limits{})
	img, err := pull(s, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 || img.Config.WorkingDir != "/work" || img.Config.Cmd[0] != "/bin/sh" {
		t.Fatalf("image = %+v", img)
	}
	lower, upper := img.Layers[0].Dir, img.Layers[1].Dir
	if b, _ := os.ReadFile(filepath.Join(lower, "etc/os-release")); string(b) != "ID=test\n" {
		t.Errorf("etc/os-release = %q", b)
	}
	if target, _ := os.Readlink(filepath.Join(lower, "bin/sh")); target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q", target)
	}
	var st, st2 unix.Stat_t
	unix.Lstat(filepath.Join(lower, "bin/su"), &st)
	unix.Lstat(filepath.Join(lower, "bin/su2"), &st2)
	if st.Mode&0o7777 != 0o4755 || st.Ino != st2.Ino {
		t.Errorf("bin/su mode %o ino %d, su2 ino %d: want 4755 and one inode", st.Mode&0o7777, st.Ino, st2.Ino)
	}
	unix.Lstat(filepath.Join(upper, "gone"), &st)
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout gone: mode %o rdev %d, want a 0/0 char device", st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(upper, "old"), OpaqueXattr, buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("old: %s = %q, %v; want y", OpaqueXattr, buf[:n], err)
	}
	if _, err := os.Lstat(filepath.Join(upper, "old/.wh..wh..opq")); err == nil {
		t.Error("the opaque marker itself was unpacked")
	}
	// The OCI layout names the image, as skopeo and umoci read it.
	var idx struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	data, _ := os.ReadFile(filepath.Join(s.Layout(), "index.json"))
	if err := json.Unmarshal(data, &idx); err != nil || len(idx.Manifests) != 1 ||
		idx.Manifests[0].Annotations[annotRef] != ref || idx.Manifests[0].Digest != img.Digest {
		t.Errorf("index.json = %s", data)
	}
	if fi, _ := os.Stat(s.Root()); fi.Mode().Perm() != 0o700 {
		t.Errorf("store mode %o, want 0700 (setuid files inside)", fi.Mode().Perm())
	}
}

func TestPullFetchesEachBlobOnce(t *testing.T) {
	tr := newRegistry(t)
	layer := layerTar(t, file("a", strings.Repeat("x", 100000), 0o644))
	ref := tr.push(t, "test/once:1", image(t, layer))
	s := openStore(t, Limits{})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = pull(s, ref) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if n := tr.blobGets(img.Layers[0].Digest); n != 1 {
		t.Errorf("layer blob fetched %d times by 4 concurrent pulls, want 1", n)
	}
	if _, err := pull(s, ref); err != nil {
		t.Fatal(err)
	}
	if n := tr.blobGets(img.Layers[0].Digest); n != 1 {
		t.Errorf("layer blob fetched again by a repeated pull (%d GETs)", n)
	}
}

func TestInterruptedPullIsResumed(t *testing.T) {
	tr := newRegistry(t)
	l1 := layerTar(t, file("one", "1", 0o644))
	l2 := layerTar(t, file("two", strings.Repeat("2", 50000), 0o644))
	img := image(t, l1, l2)
	ref := tr.push(t, "test/resume:1", img)
	layers, _ := img.Layers()
	d2, _ := layers[1].Digest()
	// The second layer's download breaks off half-way.
	tr.tamper = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, d2.String()) || r.Method != http.MethodGet {
			return false
		}
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		w.Write(make([]byte, 10)) // fewer than the blob has: a broken connection, not a lie
		return true
	}
	s := openStore(t, Limits{})
	if _, err := pull(s, ref); err == nil {
		t.Fatal("pull with a broken download succeeded")
	}
	if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a failed pull Get = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(s.blobPath(d2.String())); err == nil {
		t.Fatal("a partial blob was stored under its digest")
	}
	tr.tamper = nil
	before := tr.blobGets(mustDigest(t, layers[0]))
	if _, err := pull(s, ref); err != nil {
		t.Fatal(err)
	}
	if after := tr.blobGets(mustDigest(t, layers[0])); after != before {
		t.Errorf("the completed first layer was fetched again (%d → %d)", before, after)
	}
}

func mustDigest(t *testing.T, l v1.Layer) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestRemoveAndPrune(t *testing.T) {
	tr := newRegistry(t)
	ref := tr.push(t, "test/rm:1", image(t, layerTar(t, file("f", "data", 0o644))))
	s := openStore(t, Limits{})
	img, err := pull(s, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUse(Use{ID: "proj-1", Project: "/src/proj", Digest: img.Digest}); err != nil {
		t.Fatal(err)
	}
	var inUse *InUseError
	if _, err := s.Remove([]string{ref}, false); !errors.As(err, &inUse) {
		t.Fatalf("Remove of a used image = %v, want *InUseError", err)
	}
	list, _ := s.List()
	if len(list) != 1 || len(list[0].Projects) != 1 || list[0].Projects[0] != "/src/proj" {
		t.Fatalf("List = %+v", list)
	}
	s.RemoveUse("proj-1")
	rep, err := s.Remove([]string{ref}, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Layers != 1 || rep.Blobs != 3 {
		t.Errorf("prune freed %+v, want 1 layer and 3 blobs (manifest, config, layer)", rep)
	}
	if _, err := os.Stat(img.Layers[0].Dir); err == nil {
		t.Error("the unpacked layer is still there")
	}
	if _, err := s.Remove([]string{ref}, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove = %v, want ErrNotFound", err)
	}
}

func TestDirsStackEachLayerOnceAtItsTop(t *testing.T) {
	img := &Image{Layers: []Layer{{Dir: "a"}, {Dir: "x"}, {Dir: "b"}, {Dir: "x"}}}
	if got := strings.Join(img.Dirs(), ","); got != "a,b,x" {
		t.Errorf("Dirs() = %s, want a,b,x", got)
	}
}

// TestInsecureHintOnlyWhenNotAllowed: the advice to list a registry in
// insecure_registries is not given for one that already is (issue 11).
func TestInsecureHintOnlyWhenNotAllowed(t *testing.T) {
	err := classify(errors.New("http: server gave HTTP response to HTTPS client"))
	if h := (&PullError{Ref: "r", Err: err}).Hint(); !strings.Contains(h, "insecure_registries = [") {
		t.Errorf("hint for a registry not allowed plain HTTP = %q, want the advice to list it", h)
	}
	if h := (&PullError{Ref: "r", Err: err, Insecure: true}).Hint(); strings.Contains(h, "list it") {
		t.Errorf("hint for a registry already allowed plain HTTP = %q, tells the user to list it", h)
	}
}
