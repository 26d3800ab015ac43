package imagestore

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPullRetriesTransientFailures puts a flaky front before the test
// registry: a connection dropped mid-blob once (resumed by Range, or from
// the start where the front hides Range support) and a 503 once. Each pull
// completes; a registry that lies is refused after one request (issue 11).
func TestPullRetriesTransientFailures(t *testing.T) {
	saved := blobRetry
	blobRetry.backoff = time.Millisecond
	t.Cleanup(func() { blobRetry = saved })
	layer := layerTar(t, file("big", strings.Repeat("0123456789abcdef", 8000), 0o644))
	img := image(t, layer)
	layers, _ := img.Layers()
	d := mustDigest(t, layers[0])
	rc, _ := layers[0].Compressed()
	blob, _ := io.ReadAll(rc)
	half := len(blob) / 2

	// dropOnce answers the first GET of the blob with half of it and a
	// dropped connection.
	dropOnce := func(w http.ResponseWriter) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(blob))
		buf.Write(blob[:half])
		buf.Flush()
		conn.Close()
	}
	tests := []struct {
		name      string
		first     func(w http.ResponseWriter)
		hideRange bool
		wantRange []string // the Range headers of the blob's GETs
	}{
		{"dropped, resumed by range", dropOnce, false, []string{"", fmt.Sprintf("bytes=%d-%d", half, len(blob)-1)}},
		{"dropped, restarted without range", dropOnce, true, []string{"", fmt.Sprintf("bytes=%d-%d", half, len(blob)-1), ""}},
		{"503 once", func(w http.ResponseWriter) { http.Error(w, "busy", http.StatusServiceUnavailable) }, false, []string{"", ""}},
		{"429 once", func(w http.ResponseWriter) { http.Error(w, "slow down", http.StatusTooManyRequests) }, false, []string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newRegistry(t)
			ref := tr.push(t, "test/flaky:1", img)
			var mu sync.Mutex
			var ranges []string
			tr.tamper = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+d) {
					return false
				}
				mu.Lock()
				ranges = append(ranges, r.Header.Get("Range"))
				n := len(ranges)
				mu.Unlock()
				switch {
				case n == 1:
					tt.first(w)
					return true
				case tt.hideRange && r.Header.Get("Range") != "":
					http.Error(w, "no ranges here", http.StatusRequestedRangeNotSatisfiable)
					return true
				}
				return false
			}
			s := openStore(t, Limits{})
			if _, err := pull(s, ref); err != nil {
				t.Fatalf("pull through a flaky registry: %v", err)
			}
			if !slices.Equal(ranges, tt.wantRange) {
				t.Errorf("blob GETs had Range %q, want %q", ranges, tt.wantRange)
			}
			if _, err := s.Get(ref); err != nil {
				t.Errorf("after the pull: %v", err)
			}
		})
	}
	t.Run("a lie is not retried", func(t *testing.T) {
		tr := newRegistry(t)
		ref := tr.push(t, "test/lies:1", img)
		lie := serveBlob(d, func(b []byte) []byte { b = slices.Clone(b); b[len(b)-10] ^= 0xff; return b })
		var mu sync.Mutex
		n := 0 // the client's GETs of the blob (serveBlob makes its own)
		tr.tamper = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d) && r.Header.Get("X-Tamper") == "" {
				mu.Lock()
				n++
				mu.Unlock()
			}
			return lie(w, r)
		}
		_, err := pull(openStore(t, Limits{}), ref)
		var h *HostileError
		if !errors.As(err, &h) {
			t.Errorf("pull of a corrupted blob = %v, want a *HostileError", err)
		}
		if n != 1 {
			t.Errorf("the corrupted blob was fetched %d times, want 1", n)
		}
	})
	t.Run("a persistent failure gives up", func(t *testing.T) {
		tr := newRegistry(t)
		ref := tr.push(t, "test/down:1", img)
		tr.tamper = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d) {
				http.Error(w, "down", http.StatusBadGateway)
				return true
			}
			return false
		}
		_, err := pull(openStore(t, Limits{}), ref)
		if err == nil || !strings.Contains(err.Error(), "giving up after 5 tries") {
			t.Errorf("pull from a failing registry = %v, want it to give up after 5 tries", err)
		}
		if n := tr.blobGets(d); n != blobRetry.attempts {
			t.Errorf("the blob was requested %d times, want %d", n, blobRetry.attempts)
		}
	})
}
