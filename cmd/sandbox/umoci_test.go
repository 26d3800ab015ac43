package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/internal/testenv"
	"sandbox/internal/testregistry"
	"sandbox/userns"
)

// node is what the comparison looks at for one path of an unpacked tree.
type node struct {
	typ      fs.FileMode
	perm     fs.FileMode // permission, setuid, setgid and sticky bits
	uid, gid int
	link     string
	sum      string // "" for directories, and for files the test cannot read
}

// TestUnpackMatchesUmoci checks our unpacking of a real Debian image
// (debootstrap minbase, packed by umoci, served by docker-registry)
// against `umoci unpack --rootless` of the same image: the same paths,
// types, modes, owners, symlink targets and file contents.
func TestUnpackMatchesUmoci(t *testing.T) {
	testenv.Require(t, testenv.DebianImage, testenv.NewIDMap)
	p := newProject(t)
	layout := os.Getenv("SANDBOX_TEST_DEBIAN_OCI")
	reg := testregistry.Start(t)
	ref := reg.Push(t, layout, "minbase", "debian:minbase")
	p.output(t, "pull", "--tls-verify=false", "-q", ref)
	layers, _ := filepath.Glob(filepath.Join(p.home, ".local/share/sandbox/images/layers/sha256/*"))
	if len(layers) != 1 {
		t.Fatalf("want the image's one layer, got %v", layers)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	if out, err := exec.Command("umoci", "unpack", "--rootless", "--image", layout+":minbase", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	u, _ := user.Current()
	m, _ := userns.NewMapping(u.Username, os.Getuid(), os.Getgid())
	ours := walkTree(t, layers[0], func(st *syscall.Stat_t, _ string) (int, int) {
		return containerID(m.UIDs, int(st.Uid)), containerID(m.GIDs, int(st.Gid))
	})
	theirs := walkTree(t, filepath.Join(bundle, "rootfs"), func(_ *syscall.Stat_t, path string) (int, int) {
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(path, "user.rootlesscontainers", buf)
		if err != nil {
			return 0, 0
		}
		return testregistry.DecodeOwner(buf[:n])
	})
	if len(theirs) < 3000 {
		t.Fatalf("umoci unpacked only %d paths: not a Debian tree", len(theirs))
	}
	var diffs []string
	unread, devices := 0, 0
	for path, want := range theirs {
		got, ok := ours[path]
		if !ok && strings.HasPrefix(path, "dev/") && want.typ != fs.ModeDir && want.typ != fs.ModeSymlink {
			devices++ // device nodes are left out by design; umoci fakes them
			continue
		}
		if !ok {
			diffs = append(diffs, path+": missing")
			continue
		}
		if got.sum == "" && want.sum != "" {
			unread++
			got.sum = want.sum
		}
		if got != want {
			diffs = append(diffs, path+": got "+describe(got)+", umoci "+describe(want))
		}
	}
	for path := range ours {
		if _, ok := theirs[path]; !ok {
			diffs = append(diffs, path+": extra")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%d of %d paths differ from umoci's unpack:\n%s", len(diffs), len(theirs), strings.Join(diffs[:min(len(diffs), 30)], "\n"))
	}
	if devices == 0 || devices > 16 {
		t.Errorf("%d device nodes left out; debootstrap's /dev has about 8", devices)
	}
	// And the image runs: Debian's own tools see its users and groups.
	if out := p.output(t, "run", "--ephemeral", "--image", ref, "--tls-verify=false", "--", "sh", "-c", "stat -c '%U %G' /etc/shadow; dpkg-query -W -f='${Package}\\n' dpkg"); out != "root shadow\ndpkg\n" {
		t.Errorf("in the Debian image: %q, want \"root shadow\" and dpkg", out)
	}
	t.Logf("%d paths compared; %d device nodes left out; %d file contents unreadable to the test user (owned by subordinate ids)", len(theirs), devices, unread)
}

func walkTree(t *testing.T, root string, owner func(*syscall.Stat_t, string) (int, int)) map[string]node {
	t.Helper()
	out := map[string]node{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory: its entry was recorded
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		fi, _ := d.Info()
		n := node{typ: fi.Mode().Type(), perm: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}
		n.uid, n.gid = owner(&st, path)
		switch {
		case n.typ == fs.ModeSymlink:
			n.link, _ = os.Readlink(path)
			n.perm = 0 // symlink modes mean nothing on Linux
		case n.typ.IsRegular():
			n.sum = fileSum(path)
		}
		if rel == "." {
			return nil // the layer root's own attributes differ by design
		}
		out[rel] = n
		return nil
	})
	return out
}

func fileSum(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

func containerID(maps []userns.IDMap, host int) int {
	for _, m := range maps {
		if host >= m.HostID && host < m.HostID+m.Size {
			return m.ContainerID + host - m.HostID
		}
	}
	return -1
}

func describe(n node) string {
	return n.typ.String() + " " + n.perm.String() + " " + itoa(n.uid) + ":" + itoa(n.gid) + " ->" + n.link + " " + short(n.sum)
}

func itoa(i int) string { return fmt.Sprint(i) }

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
