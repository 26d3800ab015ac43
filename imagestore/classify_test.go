package imagestore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPullHints: each cause of a failed pull gets its own advice, and the
// network hint only network errors.
func TestPullHints(t *testing.T) {
	const store = "/home/u/.local/share/sandbox/images"
	tests := []struct {
		name string
		err  error
		want string // "" for no hint
	}{
		{"disk full", fmt.Errorf("downloading: %w", &os.PathError{Op: "write", Path: store + "/tmp/blob-1", Err: syscall.ENOSPC}), "is full: free space"},
		{"disk full in the unpacker", fmt.Errorf("writing usr/bin/x: %w", syscall.ENOSPC), store},
		{"damaged store", &CorruptError{Digest: "sha256:" + strings.Repeat("a", 64), Path: "p", Got: "sha256:b"}, "sandbox fsck --repair"},
		{"malformed layer", &HostileError{Msg: "malformed layer"}, "the image is malformed"},
		{"network", &url.Error{Op: "Get", URL: "https://registry.example.org/v2/", Err: errors.New("connection refused")}, "your network"},
		{"local file", &os.PathError{Op: "open", Path: store + "/oci/index.json", Err: syscall.EACCES}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := (&PullError{Ref: "registry.example.org/x:1", Err: tt.err, Store: store}).Hint()
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("Hint() = %q, want one containing %q", got, tt.want)
			}
			if tt.name != "network" && strings.Contains(got, "network") {
				t.Errorf("Hint() = %q: the network hint for a cause that is not the network", got)
			}
		})
	}
}

// TestCorruptCompressedLayerIsMalformed: a gzip stream damaged in the
// middle is a malformed image (HostileError), not an I/O failure.
func TestCorruptCompressedLayerIsMalformed(t *testing.T) {
	body := make([]byte, 256<<10)
	rand.Read(body)
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	sum := sha256.Sum256(tarBuf.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	blob := gz.Bytes()
	blob[len(blob)/2] ^= 0xff
	dir := t.TempDir()
	path := filepath.Join(dir, "blob")
	if err := os.WriteFile(path, blob, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := UnpackFile(UnpackRequest{Blob: path, Dest: filepath.Join(dir, "layer"), DiffID: "sha256:" + hex.EncodeToString(sum[:])})
	var h *HostileError
	if !errors.As(err, &h) {
		t.Fatalf("UnpackFile of a damaged gzip stream: %v (%T), want a *HostileError", err, err)
	}
}
