package runs

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// A run's log is text, one record a line:
//
//	2026-01-02T15:04:05.000000000Z o hello
//
// the time the line was read, the stream (o stdout, e stderr; O and E: a
// last piece with no newline after it) and the line. When the file would
// grow past the cap it becomes output.log.1 (replacing the one before) and
// a new one starts, so a run keeps at most twice the cap.

// DefaultLogMax is the log's size cap unless --log-max-size says otherwise.
const DefaultLogMax = 10 << 20

// maxLine is where a line without a newline is cut into pieces.
const maxLine = 16 << 10

// LogWriter appends the streams of one run to its log, rotating at Max.
type LogWriter struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
	wg   sync.WaitGroup
}

// OpenLog opens (creating) the log at path with size cap max.
func OpenLog(path string, max int64) (*LogWriter, error) {
	if max <= 0 {
		max = DefaultLogMax
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the run's log: %w", err)
	}
	fi, _ := f.Stat()
	return &LogWriter{path: path, max: max, f: f, size: fi.Size()}, nil
}

// Copy logs what r delivers as stream ('o' or 'e'), also copying it to
// tee if set, until r ends; Wait waits for every Copy.
func (w *LogWriter) Copy(r io.Reader, stream byte, tee io.Writer) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		br := bufio.NewReaderSize(r, maxLine)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				if tee != nil {
					_, _ = tee.Write(line)
				}
				w.write(stream, line)
			}
			if err != nil && err != bufio.ErrBufferFull {
				return
			}
		}
	}()
}

// Wait waits until every stream has ended, then closes the file.
func (w *LogWriter) Wait() {
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Close()
}

func (w *LogWriter) write(stream byte, line []byte) {
	whole := bytes.HasSuffix(line, []byte("\n"))
	if !whole {
		stream -= 'a' - 'A' // a piece: no newline follows
	}
	rec := make([]byte, 0, len(line)+40)
	rec = time.Now().UTC().AppendFormat(rec, "2006-01-02T15:04:05.000000000Z")
	rec = append(rec, ' ', stream, ' ')
	rec = append(rec, bytes.TrimSuffix(line, []byte("\n"))...)
	rec = append(rec, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size > 0 && w.size+int64(len(rec)) > w.max {
		w.rotate()
	}
	n, _ := w.f.Write(rec)
	w.size += int64(n)
}

// rotate keeps one old log. Must be called with w.mu held.
func (w *LogWriter) rotate() {
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return
	}
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	w.f.Close()
	w.f, w.size = f, 0
}

// LogRecord is one line of a log.
type LogRecord struct {
	Time   string
	Stderr bool
	Text   string
	// Piece: the text had no newline after it.
	Piece bool
}

// ParseLogRecord splits one log line; ok is false for a malformed one.
func ParseLogRecord(line string) (LogRecord, bool) {
	ts, rest, ok := strings.Cut(line, " ")
	if !ok || len(rest) < 2 || rest[1] != ' ' {
		return LogRecord{}, false
	}
	s := rest[0]
	return LogRecord{Time: ts, Stderr: s == 'e' || s == 'E', Piece: s == 'O' || s == 'E', Text: rest[2:]}, true
}

// StartLog sends a run's output to its log at path (cap max): only there
// when detached, else also to stdout and stderr. It returns the ends the
// payload writes to; done closes ours and waits for the last line.
func StartLog(path string, max int64, detached bool, stdout, stderr *os.File) (o, e *os.File, done func(), err error) {
	w, err := OpenLog(path, max)
	if err != nil {
		return nil, nil, nil, err
	}
	var ends []*os.File
	closeEnds := func() {
		for _, f := range ends {
			f.Close()
		}
	}
	for i, tee := range []*os.File{stdout, stderr} {
		r, pw, err := os.Pipe()
		if err != nil {
			closeEnds()
			return nil, nil, nil, err
		}
		var to io.Writer
		if !detached {
			to = tee
		}
		w.Copy(r, "oe"[i], to)
		ends = append(ends, pw)
	}
	return ends[0], ends[1], func() { closeEnds(); w.Wait() }, nil
}
