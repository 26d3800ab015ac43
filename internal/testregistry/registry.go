// Package testregistry gives tests real image infrastructure: Debian's
// docker-registry (the Distribution registry server) on 127.0.0.1 with its
// storage in a temporary directory, and images made by umoci and pushed
// by skopeo, so that the code under test pulls what none of its own code
// wrote.
package testregistry

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/internal/testenv"
)

// Registry is a running registry.
type Registry struct {
	Host string // 127.0.0.1:PORT
	logs *bytes.Buffer
	mu   *sync.Mutex
}

// Uploads lists the blob digests clients have uploaded so far (from the
// registry's request log).
func (r *Registry) Uploads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range uploadRE.FindAllStringSubmatch(r.logs.String(), -1) {
		out = append(out, m[1])
	}
	return out
}

var uploadRE = regexp.MustCompile(`http.request.method=PUT .*?http.request.uri="/v2/[^"]*/blobs/uploads/[^"]*digest=(sha256(?:%3A|:)[0-9a-f]{64})`)

// lockedWriter serializes the registry's log writes with Uploads' reads.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Start runs docker-registry for the test and stops it at cleanup.
func Start(t testing.TB) *Registry {
	t.Helper()
	testenv.Require(t, testenv.Tool("docker-registry"), testenv.Tool("skopeo"), testenv.Tool("umoci"))
	logs, mu := &bytes.Buffer{}, &sync.Mutex{}
	host, stop, err := Serve(t.TempDir(), "info", lockedWriter{mu, logs})
	if err != nil {
		mu.Lock()
		t.Fatalf("%v\n%s", err, logs.String())
	}
	t.Cleanup(stop)
	return &Registry{Host: host, logs: logs, mu: mu}
}

// Serve runs docker-registry on a free port of 127.0.0.1 with its
// storage in dir and its log (at level) to logs, until stop.
func Serve(dir, level string, logs io.Writer) (host string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	host = l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: %s\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", level, filepath.Join(dir, "data"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("docker-registry", "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting docker-registry: %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return host, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("docker-registry did not answer on %s: %v", host, err)
		}
	}
}

// Push copies the image layout:tag to the registry as repoTag with
// skopeo, and returns its reference.
func (r *Registry) Push(t testing.TB, layout, tag, repoTag string) string {
	t.Helper()
	ref := r.Host + "/" + repoTag
	run(t, "skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:"+layout+":"+tag, "docker://"+ref)
	return ref
}

// File is a file of an image built by Build.
type File struct {
	Path     string // relative to the root
	Body     string
	Mode     os.FileMode // permission bits; os.ModeDir for a directory, os.ModeSymlink with Body as target
	UID, GID int
	Setuid   bool
}

// Build makes an OCI image layout with umoci: a fresh image whose one
// layer holds files, with their owners recorded the rootless way (umoci's
// user.rootlesscontainers attribute, which repack turns into tar owners),
// so that it works as an unprivileged user. Config sets the image's
// command, environment and working directory (umoci config flags).
func Build(t testing.TB, files []File, config ...string) (layout, tag string) {
	t.Helper()
	dir := t.TempDir()
	layout, tag = filepath.Join(dir, "oci"), "1"
	run(t, "umoci", "init", "--layout", layout)
	run(t, "umoci", "new", "--image", layout+":"+tag)
	bundle := filepath.Join(dir, "bundle")
	run(t, "umoci", "unpack", "--rootless", "--image", layout+":"+tag, bundle)
	root := filepath.Join(bundle, "rootfs")
	for _, f := range files {
		p := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case f.Mode&os.ModeDir != 0:
			err = os.Mkdir(p, f.Mode.Perm()|0o700)
		case f.Mode&os.ModeSymlink != 0:
			err = os.Symlink(f.Body, p)
		default:
			err = os.WriteFile(p, []byte(f.Body), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Mode&os.ModeSymlink == 0 {
			mode := f.Mode.Perm()
			if f.Setuid {
				mode |= os.ModeSetuid
			}
			if err := os.Chmod(p, mode|ownerBits(f.Mode)); err != nil {
				t.Fatal(err)
			}
		}
		if f.UID != 0 || f.GID != 0 {
			if err := unix.Lsetxattr(p, "user.rootlesscontainers", rootlessOwner(f.UID, f.GID), 0); err != nil {
				t.Fatalf("recording the owner of %s: %v", f.Path, err)
			}
		}
	}
	run(t, "umoci", "repack", "--image", layout+":"+tag, bundle)
	if len(config) > 0 {
		run(t, "umoci", append([]string{"config", "--image", layout + ":" + tag}, config...)...)
	}
	return layout, tag
}

// ownerBits keeps directories traversable for the building user; umoci
// records the real mode.
func ownerBits(m os.FileMode) os.FileMode {
	if m&os.ModeDir != 0 {
		return 0o700
	}
	return 0
}

// rootlessOwner encodes the rootlesscontainers.proto Resource message:
// field 1 uid, field 2 gid, as varints.
func rootlessOwner(uid, gid int) []byte {
	var b []byte
	b = append(b, 0x08)
	b = appendVarint(b, uint64(uid))
	b = append(b, 0x10)
	return appendVarint(b, uint64(gid))
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// DecodeOwner reads a user.rootlesscontainers value (umoci --rootless):
// (0, 0) when absent; a field holding the spec's NoopID (2^32-1) means
// unchanged, which is 0 too.
func DecodeOwner(b []byte) (uid, gid int) {
	for i := 0; i < len(b); {
		key := b[i]
		i++
		var v uint64
		for shift := 0; i < len(b); shift += 7 {
			c := b[i]
			i++
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				break
			}
		}
		if v == 1<<32-1 {
			v = 0
		}
		switch key {
		case 0x08:
			uid = int(v)
		case 0x10:
			gid = int(v)
		}
	}
	return uid, gid
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
