package imagestore

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func withXattr(e entry, key string) entry {
	e.hdr.PAXRecords = map[string]string{"SCHILY.xattr." + key: "x"}
	return e
}

// Each hostile layer must be refused with nothing stored and nothing
// written beside the store.
func TestHostileLayersAreRefused(t *testing.T) {
	many := []entry{}
	for i := range 10 {
		many = append(many, file(fmt.Sprintf("f%d", i), "x", 0o644))
	}
	tests := []struct {
		name    string
		limits  Limits
		entries []entry
	}{
		{"dotdot path", Limits{}, []entry{file("../evil", "x", 0o644)}},
		{"dotdot inside path", Limits{}, []entry{dir("a/", 0o755), file("a/../../evil", "x", 0o644)}},
		{"absolute path", Limits{}, []entry{file("/evil", "x", 0o644)}},
		{"symlink escaping", Limits{}, []entry{dir("a/", 0o755), symlink("a/up", "../../etc/passwd")}},
		{"write through symlinked parent", Limits{}, []entry{symlink("l", "/tmp"), file("l/evil", "x", 0o644)}},
		{"write through relative symlinked parent", Limits{}, []entry{dir("d/", 0o755), symlink("d/l", ".."), file("d/l/evil", "x", 0o644)}},
		{"hardlink escaping", Limits{}, []entry{hardlink("h", "../../etc/passwd")}},
		{"hardlink absolute", Limits{}, []entry{hardlink("h", "/etc/passwd")}},
		{"hardlink through symlink", Limits{}, []entry{symlink("l", "/etc"), hardlink("h", "l/passwd")}},
		{"hardlink to a missing file", Limits{}, []entry{hardlink("h", "nothing")}},
		{"trusted.overlay xattr", Limits{}, []entry{withXattr(dir("d/", 0o755), "trusted.overlay.redirect")}},
		{"user.overlay xattr", Limits{}, []entry{withXattr(file("f", "x", 0o644), "user.overlay.metacopy")}},
		{"fuse-overlayfs ownership xattr", Limits{}, []entry{withXattr(file("f", "x", 0o644), "user.containers.override_stat")}},
		{"too many files", Limits{LayerFiles: 5}, many},
		{"too many bytes", Limits{LayerBytes: 1000}, []entry{file("big", strings.Repeat("0", 5000), 0o644)}},
		{"malformed whiteout", Limits{}, []entry{file(".wh...", "", 0)}},
		{"path over PATH_MAX", Limits{}, []entry{file(strings.Repeat("d/", 2100)+"f", "x", 0o644)}},
		{"name over NAME_MAX", Limits{}, []entry{file(strings.Repeat("n", 300), "x", 0o644)}},
		{"symlink target over PATH_MAX", Limits{}, []entry{symlink("l", strings.Repeat("t/", 2100))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newRegistry(t)
			good := layerTar(t, file("ok", "fine", 0o644))
			ref := tr.push(t, "test/hostile:1", image(t, good, layerTar(t, tt.entries...)))
			expectRefused(t, tr, ref, tt.limits)
		})
	}
}

// expectRefused pulls ref and checks the refusal left nothing behind.
func expectRefused(t *testing.T, tr *testRegistry, ref string, l Limits) {
	t.Helper()
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	os.Mkdir(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "keep"), []byte("keep"), 0o644)
	s, err := Open(filepath.Join(parent, "store"), Options{Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	before := listTree(t, outside)
	_, err = pull(s, ref)
	var h *HostileError
	if !errors.As(err, &h) {
		t.Fatalf("pull = %v, want a *HostileError", err)
	}
	if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("after the refusal Get = %v, want ErrNotFound", err)
	}
	if after := listTree(t, outside); !slices.Equal(before, after) {
		t.Errorf("files beside the store changed: %v → %v", before, after)
	}
	if got := listTree(t, filepath.Join(s.Root(), tmpDir)); len(got) != 1 {
		t.Errorf("temporaries left: %v", got)
	}
	entries, _ := os.ReadDir(filepath.Join(parent))
	if len(entries) != 2 {
		t.Errorf("the store's parent holds %d entries, want store and outside only", len(entries))
	}
}

func TestRegistryLiesAreRefused(t *testing.T) {
	layer := layerTar(t, file("f", strings.Repeat("data", 1000), 0o644))
	tests := []struct {
		name   string
		limits Limits
		// tamper answers some requests of the registry itself.
		tamper func(layerDigest string) func(w http.ResponseWriter, r *http.Request) bool
	}{
		{"blob content does not match digest", Limits{}, func(d string) func(http.ResponseWriter, *http.Request) bool {
			return serveBlob(d, func(b []byte) []byte { b = slices.Clone(b); b[len(b)-10] ^= 0xff; return b })
		}},
		{"blob longer than announced", Limits{}, func(d string) func(http.ResponseWriter, *http.Request) bool {
			return serveBlob(d, func(b []byte) []byte { return append(slices.Clone(b), make([]byte, 100)...) })
		}},
		{"malformed layer digest", Limits{}, func(d string) func(http.ResponseWriter, *http.Request) bool {
			return serveManifest(func(m string) string { return strings.Replace(m, d, "sha256:../../../../etc/passwd", 1) })
		}},
		// CVE-2021-41190: a document that reads as an image and an index.
		{"ambiguous manifest without mediaType", Limits{}, func(string) func(http.ResponseWriter, *http.Request) bool {
			return serveManifest(func(m string) string {
				return editJSON(m, func(doc map[string]any) {
					delete(doc, "mediaType")
					doc["manifests"] = []any{}
				})
			})
		}},
		{"manifest with both manifests and layers", Limits{}, func(string) func(http.ResponseWriter, *http.Request) bool {
			return serveManifest(func(m string) string {
				return editJSON(m, func(doc map[string]any) { doc["manifests"] = []any{} })
			})
		}},
		{"mediaType other than the content type", Limits{}, func(string) func(http.ResponseWriter, *http.Request) bool {
			return serveManifest(func(m string) string {
				return editJSON(m, func(doc map[string]any) { doc["mediaType"] = "application/vnd.oci.image.index.v1+json" })
			})
		}},
		{"manifest over the limit", Limits{ManifestBytes: 64}, nil},
		{"config over the limit", Limits{ConfigBytes: 16}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newRegistry(t)
			img := image(t, layer)
			ref := tr.push(t, "test/lies:1", img)
			layers, _ := img.Layers()
			if tt.tamper != nil {
				tr.tamper = tt.tamper(mustDigest(t, layers[0]))
			}
			expectRefused(t, tr, ref, tt.limits)
		})
	}
}

// serveBlob answers GETs of blob digest with change(real content), which
// it fetches from the registry beneath.
func serveBlob(digest string, change func([]byte) []byte) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+digest) || r.Header.Get("X-Tamper") != "" {
			return false
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+r.URL.Path, nil)
		req.Header.Set("X-Tamper", "no")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b := make([]byte, 0, 1<<16)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		w.Write(change(b))
		return true
	}
}

// serveManifest answers manifest requests with change(real manifest).
func serveManifest(change func(string) string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/manifests/") || r.Header.Get("X-Tamper") != "" {
			return false
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+r.URL.Path, nil)
		req.Header.Set("Accept", r.Header.Get("Accept"))
		req.Header.Set("X-Tamper", "no")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		body := change(sb.String())
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodGet {
			w.Write([]byte(body))
		}
		return true
	}
}

func TestDiffIDMismatchIsRefused(t *testing.T) {
	tr := newRegistry(t)
	// A static layer claims its compressed digest as diff_id.
	img, err := mutate.AppendLayers(image(t), static.NewLayer(gzipped(layerTar(t, file("f", "x", 0o644))), types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	expectRefused(t, tr, tr.push(t, "test/diffid:1", img), Limits{})
}

func TestDeviceNodesAreSkipped(t *testing.T) {
	tr := newRegistry(t)
	dev := entry{hdr: tar.Header{Name: "dev/sda", Typeflag: tar.TypeBlock, Devmajor: 8, Mode: 0o660}}
	null := entry{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}}
	ref := tr.push(t, "test/dev:1", image(t, layerTar(t, dir("dev/", 0o755), dev, null, file("f", "x", 0o644))))
	img, err := pull(openStore(t, Limits{}), ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dev/sda", "dev/null"} {
		if _, err := os.Lstat(filepath.Join(img.Layers[0].Dir, n)); err == nil {
			t.Errorf("device node %s was unpacked", n)
		}
	}
}

// editJSON decodes a JSON object, lets edit change it and encodes it again.
func editJSON(s string, edit func(map[string]any)) string {
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return s
	}
	edit(doc)
	b, _ := json.Marshal(doc)
	return string(b)
}
