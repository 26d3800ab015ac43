package landlock_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/internal/testenv"
	"sandbox/landlock"
)

const helperEnv = "_SANDBOX_TEST_LANDLOCK"

// TestMain doubles as the helper: confined by Restrict with the first
// argument writable, it tries to write each argument.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "" {
		os.Exit(m.Run())
	}
	args := os.Args[1:]
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	if _, err := landlock.Restrict(landlock.Options{Writable: args[:1]}); err != nil {
		os.Stdout.WriteString("restrict: " + err.Error() + "\n")
		os.Exit(1)
	}
	for _, dir := range args {
		err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
		if err == nil {
			err = errors.New("ok")
		} else {
			err = errors.Unwrap(err)
		}
		os.Stdout.WriteString(dir + ": " + err.Error() + "\n")
	}
	os.Exit(0)
}

func TestRestrictWrites(t *testing.T) {
	testenv.Require(t, testenv.Landlock(1))
	root := t.TempDir()
	allowed, other := filepath.Join(root, "allowed"), filepath.Join(root, "other")
	for _, d := range []string{allowed, filepath.Join(allowed, "sub"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], allowed, filepath.Join(allowed, "sub"), other)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	want := allowed + ": ok\n" + filepath.Join(allowed, "sub") + ": ok\n" + other + ": permission denied\n"
	if string(out) != want {
		t.Errorf("writes under Landlock:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(string(out), "restrict:") {
		t.Fatal(string(out))
	}
}
