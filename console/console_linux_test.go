package console

import (
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// TestRawRestoreSize runs the terminal calls on a real PTY: raw mode turns
// off line editing, echo and signals, Restore brings them back, and sizes
// set on the master read back on the slave.
func TestRawRestoreSize(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
	fd := int(tty.Fd())
	if !IsTerminal(fd) {
		t.Fatal("a PTY slave is not a terminal")
	}
	var p [2]int // a pipe: not a terminal
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	r := p[0]
	if IsTerminal(r) {
		t.Error("a pipe is a terminal")
	}

	lflag := func() uint32 {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag
	}
	const editing = unix.ICANON | unix.ECHO | unix.ISIG
	before := lflag()
	if before&editing != editing {
		t.Fatalf("a new PTY has lflag %#x, want ICANON|ECHO|ISIG set", before)
	}
	st, err := MakeRaw(fd)
	if err != nil {
		t.Fatal(err)
	}
	if got := lflag(); got&editing != 0 {
		t.Errorf("raw mode left lflag %#x", got)
	}
	if err := st.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := lflag(); got != before {
		t.Errorf("after Restore lflag is %#x, want %#x", got, before)
	}
	if err := (*State)(nil).Restore(); err != nil {
		t.Errorf("Restore of no state: %v", err)
	}

	if err := SetSize(int(master.Fd()), Size{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	if got, err := GetSize(fd); err != nil || got != (Size{Rows: 33, Cols: 101}) {
		t.Errorf("GetSize = %v, %v; want 33x101", got, err)
	}
	if _, err := GetSize(r); err == nil {
		t.Error("GetSize of a pipe succeeded")
	}
}
