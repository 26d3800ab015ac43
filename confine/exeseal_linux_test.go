package confine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/internal/testenv"
)

// TestExeSeal: a process started from SealExe's path cannot have its
// binary rewritten through /proc/<pid>/exe (review 13, #11): a reader
// that opened it while the process ran gets EROFS when it reopens it for
// writing after the process is gone. The control, started from the
// plain path, is writable that way: the attack the seal stops.
func TestExeSeal(t *testing.T) {
	if os.Getenv("SEAL_SLEEP") != "" {
		io.ReadAll(os.Stdin) // the started process: run until told
		os.Exit(0)
	}
	if bin := os.Getenv("SEAL_CHILD"); bin != "" {
		sealChild(bin)
		os.Exit(0)
	}
	testenv.Require(t, testenv.UserNS)
	// A copy nothing else runs: the host binary is busy (ETXTBSY) while
	// `sandbox run` runs, which would hide what the seal does.
	bin := filepath.Join(t.TempDir(), "stage")
	data, err := os.ReadFile(os.Args[0])
	if err != nil || os.WriteFile(bin, data, 0o755) != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExeSeal$")
	cmd.Env = append(os.Environ(), "SEAL_CHILD="+bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sealed: read-only file system", "plain: writable"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("want %q in the result", want)
		}
	}
	if st, _ := os.Stat(bin); st == nil || st.Size() != int64(len(data)) {
		t.Error("the binary changed")
	}
}

// sealChild runs in its own user and mount namespace, as init does.
func sealChild(bin string) {
	var st unix.Stat_t
	if err := unix.Stat(bin, &st); err != nil {
		fmt.Println(err)
		return
	}
	start := time.Now()
	sealed, err := sealFile(bin, &st)
	fmt.Printf("sealFile took %v\n", time.Since(start))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range []struct{ name, path string }{{"sealed", sealed}, {"plain", bin}} {
		fmt.Printf("%s: %s\n", c.name, reopenWritable(c.path))
	}
}

// reopenWritable starts path, opens /proc/<pid>/exe read-only while it
// runs, ends it, then reopens that fd for writing: the attack.
func reopenWritable(path string) string {
	cmd := exec.Command(path, "-test.run=^TestExeSeal$")
	cmd.Env = append(os.Environ(), "SEAL_SLEEP=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err.Error()
	}
	if err := cmd.Start(); err != nil {
		return "start: " + err.Error()
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	stdin.Close()
	cmd.Wait()
	if err != nil {
		return "open exe: " + err.Error()
	}
	defer unix.Close(fd)
	w, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EROFS) {
		return "read-only file system"
	}
	if err != nil {
		return "reopen: " + err.Error()
	}
	unix.Close(w)
	return "writable"
}
