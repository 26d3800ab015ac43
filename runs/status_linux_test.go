package runs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sandbox/internal/testenv"
	"strings"
	"testing"
)

func TestLookupByNameIDAndPrefix(t *testing.T) {
	runs := []Status{
		{Info: Info{ID: "3f2a00000001", Name: "web"}},
		{Info: Info{ID: "3f2b00000002"}},
		{Info: Info{ID: "9c0000000003", Name: "3f2b"}},
	}
	for _, tt := range []struct {
		ref, want string
		notFound  bool
	}{
		{ref: "web", want: "3f2a00000001"},
		{ref: "3f2a", want: "3f2a00000001"},
		{ref: "3f2b", want: "9c0000000003"}, // a name wins over an id prefix
		{ref: "9c", want: "9c0000000003"},
		{ref: "3f2b00000002", want: "3f2b00000002"},
		{ref: "3f", want: ""}, // ambiguous
		{ref: "nope", notFound: true},
		{ref: "", notFound: true},
	} {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := lookupIn(runs, tt.ref)
			var nf *NotFoundError
			switch {
			case tt.notFound:
				if !errors.As(err, &nf) {
					t.Errorf("lookupIn(%q) = %v, %v; want not found", tt.ref, got.ID, err)
				}
			case tt.want == "":
				if err == nil || errors.As(err, &nf) {
					t.Errorf("lookupIn(%q) = %v, %v; want ambiguous", tt.ref, got.ID, err)
				}
			case err != nil || got.ID != tt.want:
				t.Errorf("lookupIn(%q) = %v, %v; want %s", tt.ref, got.ID, err, tt.want)
			}
		})
	}
}

func TestLogWriterRotatesOnceAndKeepsStreams(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LogFile)
	w, err := OpenLog(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for i := 0; i < 300; i++ {
		out.WriteString("line of the payload's stdout, number ")
		out.WriteString(strings.Repeat("x", i%7))
		out.WriteString("\n")
	}
	out.WriteString("last piece")
	var tee bytes.Buffer
	w.Copy(strings.NewReader(out.String()), 'o', &tee)
	w.Wait()
	if tee.String() != out.String() {
		t.Errorf("tee got %d bytes, want %d", tee.Len(), out.Len())
	}
	cur, err1 := os.ReadFile(path)
	old, err2 := os.ReadFile(path + ".1")
	if err1 != nil || err2 != nil {
		t.Fatalf("want output.log and output.log.1: %v %v", err1, err2)
	}
	if len(cur) > 4096 || len(old) > 4096 {
		t.Errorf("log sizes %d and %d, want each at most the cap 4096", len(cur), len(old))
	}
	lines := strings.Split(strings.TrimSuffix(string(cur), "\n"), "\n")
	last, ok := ParseLogRecord(lines[len(lines)-1])
	if !ok || last.Text != "last piece" || !last.Piece || last.Stderr {
		t.Errorf("last record = %+v, %v; want the stdout piece without a newline", last, ok)
	}
	first, ok := ParseLogRecord(lines[0])
	if !ok || !strings.HasPrefix(first.Text, "line of the payload's stdout") || first.Piece || !strings.HasSuffix(first.Time, "Z") {
		t.Errorf("first record = %+v, %v", first, ok)
	}
}

// TestFinishAndWaitExitedForRunsNotKept: a kept run records how it ended
// in exit.json; one that is not kept writes none (its state directory
// goes at once, issue 18), and WaitExited takes its vanishing as its end
// instead of "no sandbox run", which `sandbox stop` of a foreground run
// used to print.
func TestFinishAndWaitExitedForRunsNotKept(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	for _, keep := range []bool{true, false} {
		rec, err := Register(Info{PID: os.Getpid(), Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		st := Status{Info: rec.info, Status: "running", Dir: rec.Dir()}
		rec.Finish(ExitInfo{Code: 3})
		_, err = os.Stat(filepath.Join(rec.Dir(), exitFile))
		if keep && err != nil || !keep && !os.IsNotExist(err) {
			t.Errorf("keep %v: exit.json after Finish: %v", keep, err)
		}
		rec.Release()
		got, err := WaitExited(st, 0)
		switch {
		case err != nil || got.Running():
			t.Errorf("keep %v: WaitExited after the run ended = %+v, %v; want it ended", keep, got, err)
		case keep && (got.Exit == nil || got.Exit.Code != 3):
			t.Errorf("keep %v: WaitExited = %+v, want exit code 3", keep, got.Exit)
		}
		if keep {
			Remove(got)
		}
	}
}

// A state directory that cannot be read is an error for WaitExited, not a
// run that ended: `sandbox stop` would report success for a running one
// (review 18b, F2).
func TestWaitExitedWithAnUnreadableStateDir(t *testing.T) {
	testenv.Require(t, testenv.Unprivileged) // root reads a directory of mode 000
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	rec, err := Register(Info{PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	root, err := stateRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(root, 0o700)
	st := Status{Info: rec.info, Status: "running", Dir: rec.Dir()}
	if got, err := WaitExited(st, 0); err == nil {
		t.Errorf("WaitExited with the state directory unreadable = %+v, nil; want an error", got)
	}
}
