package workspace

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// plantMark makes the mark a volatile overlay mount leaves in work, with
// overlayfs's modes (0) and the given time.
func plantMark(t *testing.T, work string, at time.Time) {
	t.Helper()
	mark := filepath.Join(work, volatileMark)
	if err := os.MkdirAll(mark, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mark, "dirty"), nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(mark, at, at); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{volatileMark, "work/incompat", "work"} {
		if err := os.Chmod(filepath.Join(work, d), 0); err != nil {
			t.Fatal(err)
		}
	}
}

// The mark of a run of this boot goes quietly; one from before the boot
// goes too, and says the machine went down with the layer mounted; a
// work directory without one is left alone.
func TestClearVolatileMark(t *testing.T) {
	boot, err := bootTime()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		at     time.Time
		downed bool
	}{
		{"this boot", time.Now(), false},
		{"before the boot", time.Unix(boot-3600, 0), true},
	} {
		work := t.TempDir()
		plantMark(t, work, c.at)
		downed, err := clearVolatileMark(work)
		if err != nil || downed != c.downed {
			t.Errorf("%s: clearVolatileMark = %v, %v; want %v", c.name, downed, err, c.downed)
		}
		if _, err := os.Lstat(filepath.Join(work, volatileMark)); !os.IsNotExist(err) {
			t.Errorf("%s: the mark is still there: %v", c.name, err)
		}
	}
	if downed, err := clearVolatileMark(t.TempDir()); downed || err != nil {
		t.Errorf("without a mark: clearVolatileMark = %v, %v; want false, nil", downed, err)
	}
}
