package control

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func socketPair(t *testing.T) (a, b *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b = os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// A message crosses with its fields and the file beside it; the end of
// the stream leaves the message empty, without an error.
func TestSendRecv(t *testing.T) {
	a, b := socketPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := message{Type: MsgExec, Exec: &ExecRequest{Args: []string{"true"}, Env: []string{"A=1"}}}
	if err := Send(a, want, int(w.Fd())); err != nil {
		t.Fatalf("Send: %v", err)
	}
	w.Close()
	var got message
	files, err := Recv(b, &got)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if got.Type != want.Type || got.Exec == nil || strings.Join(got.Exec.Args, " ") != "true" || got.Exec.Env[0] != "A=1" {
		t.Errorf("Recv = %+v, want %+v", got, want)
	}
	if len(files) != 1 {
		t.Fatalf("Recv returned %d files, want 1", len(files))
	}
	if _, err := files[0].WriteString("through"); err != nil {
		t.Fatal(err)
	}
	files[0].Close()
	if b, _ := io.ReadAll(r); string(b) != "through" {
		t.Errorf("the passed pipe carried %q, want %q", b, "through")
	}
	a.Close()
	var end message
	if files, err := Recv(b, &end); err != nil || files != nil || end.Type != "" {
		t.Errorf("Recv at the end = %+v, %v, %v; want an empty message", end, files, err)
	}
}

// A state directory whose socket path is too long for sockaddr_un is
// reached through /proc/self/fd.
func TestListenDialLongPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fd, err := Listen(dir)
	if err != nil {
		t.Fatalf("Listen(%s): %v", dir, err)
	}
	defer unix.Close(fd)
	conn, err := dial(dir)
	if err != nil {
		t.Fatalf("dial(%s): %v", dir, err)
	}
	conn.Close()
	if _, err := os.Stat(filepath.Join(dir, File)); err != nil {
		t.Errorf("the socket is not in the state directory: %v", err)
	}
}

// TestRecvClosesFdsOfABadMessage: fds that come with a message that does
// not decode are closed, not leaked (review 2).
func TestRecvClosesFdsOfABadMessage(t *testing.T) {
	a, b := socketPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := unix.Sendmsg(int(a.Fd()), []byte("not json"), unix.UnixRights(int(w.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var got message
	if files, err := Recv(b, &got); err == nil || len(files) != 0 {
		t.Fatalf("Recv of a bad message = %d files, %v; want an error and none", len(files), err)
	}
	// With every write end closed, the pipe's reader sees EOF at once.
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("the passed fd was kept open: read %d, %v", n, err)
	}
}

// TestRecvSizesItsBuffer: a message gets a buffer of its own size, not
// one of maxMessage (1 MiB zeroed per message was most of a run's heap,
// issue 18), and a large message still crosses whole, with its fds,
// after a small one: the size comes from peeking at each datagram.
func TestRecvSizesItsBuffer(t *testing.T) {
	a, b := socketPair(t)
	small := message{Type: MsgExec, Exec: &ExecRequest{Args: []string{"true"}}}
	big := message{Type: MsgExec, Exec: &ExecRequest{Args: []string{strings.Repeat("x", 100<<10)}}}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := Send(a, small); err != nil {
		t.Fatal(err)
	}
	if err := Send(a, big, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var got message
	if _, err := Recv(b, &got); err != nil || got.Exec == nil || got.Exec.Args[0] != "true" {
		t.Fatalf("Recv of the small message = %+v, %v", got, err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("Recv of a %d-byte message allocated %d bytes, want a buffer of about its size", len(`{"type":"exec"}`), n)
	}
	var gotBig message
	files, err := Recv(b, &gotBig)
	if err != nil || gotBig.Exec == nil || gotBig.Exec.Args[0] != big.Exec.Args[0] {
		t.Fatalf("Recv of the 100 KiB message: %v (args intact: %v)", err, gotBig.Exec != nil && gotBig.Exec.Args[0] == big.Exec.Args[0])
	}
	if len(files) != 1 {
		t.Fatalf("Recv of the 100 KiB message returned %d files, want 1", len(files))
	}
	files[0].Close()
}

// A peer that sent its last message and closed with ours unread (init
// failing before it read the Spec) is read to its last message and end:
// the kernel's one ECONNRESET first is read past.
func TestRecvReadsPastAPeersReset(t *testing.T) {
	a, b := socketPair(t)
	if err := Send(a, message{Type: MsgExec}); err != nil { // never read by b
		t.Fatal(err)
	}
	if err := Send(b, message{Type: MsgExecFailed, Error: "setup failed"}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	var got message
	if _, err := Recv(a, &got); err != nil || got.Type != MsgExecFailed || got.Error != "setup failed" {
		t.Fatalf("Recv = %+v, %v; want the peer's last message", got, err)
	}
	var end message
	if files, err := Recv(a, &end); err != nil || files != nil || end.Type != "" {
		t.Errorf("Recv after it = %+v, %v, %v; want the end", end, files, err)
	}
}
