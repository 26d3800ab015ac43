package runs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A foreground run's output reaches both its log and the user's stdout; a
// detached run's only the log.
func TestStartLog(t *testing.T) {
	for _, detached := range []bool{false, true} {
		dir := t.TempDir()
		user, err := os.Create(filepath.Join(dir, "user-stdout"))
		if err != nil {
			t.Fatal(err)
		}
		log := filepath.Join(dir, LogFile)
		o, e, done, err := StartLog(log, 0, detached, user, user)
		if err != nil {
			t.Fatalf("StartLog: %v", err)
		}
		if _, err := o.WriteString("out line\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.WriteString("err line\n"); err != nil {
			t.Fatal(err)
		}
		done()
		user.Close()
		logged, _ := os.ReadFile(log)
		if !strings.Contains(string(logged), " o out line\n") || !strings.Contains(string(logged), " e err line\n") {
			t.Errorf("detached=%v: log = %q, want both lines with their streams", detached, logged)
		}
		shown, _ := os.ReadFile(user.Name())
		if want := !detached; strings.Contains(string(shown), "out line") != want || strings.Contains(string(shown), "err line") != want {
			t.Errorf("detached=%v: the user's stdout got %q", detached, shown)
		}
	}
}
