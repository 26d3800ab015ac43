package imagestore

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A multi-platform index resolves to this host's platform, and the ref's
// digest (for sandbox.lock) is the index's.
func TestPullResolvesTheHostPlatform(t *testing.T) {
	tr := newRegistry(t)
	var idx v1.ImageIndex = empty.Index
	for _, arch := range []string{"s390x", runtime.GOARCH, "riscv64"} {
		img := image(t, layerTar(t, file("arch", arch, 0o644)))
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref := tr.host + "/test/multi:1"
	r, _ := name.ParseReference(ref, name.Insecure)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	img, err := pull(openStore(t, Limits{}), ref)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(img.Layers[0].Dir, "arch")); string(b) != runtime.GOARCH {
		t.Errorf("pulled the %q image, want %s", b, runtime.GOARCH)
	}
	want, _ := idx.Digest()
	if img.RefDigest != want.String() || img.Digest == img.RefDigest {
		t.Errorf("RefDigest %s, Digest %s; want the index's digest %s and the manifest's", img.RefDigest, img.Digest, want)
	}
}

// Credentials come from $REGISTRY_AUTH_FILE (containers' auth.json format)
// for the manifest and for our own blob downloads.
func TestPullAuthenticates(t *testing.T) {
	tr := newRegistry(t)
	ref := tr.push(t, "test/private:1", image(t, layerTar(t, file("secret", "s", 0o600))))
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	tr.tamper = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/" || r.Header.Get("Authorization") == want {
			if r.URL.Path == "/v2/" && r.Header.Get("Authorization") != want {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return true
			}
			return false
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
		return true
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	s := openStore(t, Limits{})
	if _, err := pull(s, ref); err == nil {
		t.Fatal("pull without credentials succeeded")
	}
	auth := filepath.Join(home, "auth.json")
	os.WriteFile(auth, []byte(`{"auths":{"`+tr.host+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))+`"}}}`), 0o600)
	t.Setenv("REGISTRY_AUTH_FILE", auth)
	if _, err := pull(s, ref); err != nil {
		t.Fatalf("pull with $REGISTRY_AUTH_FILE: %v", err)
	}
}
