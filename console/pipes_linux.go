package console

import (
	"io"
	"os"
	"sync"
)

// Pipes give a sandbox's process its standard streams without a PTY. Pipes
// and files are handed over as they are (no copy: output is byte-exact and
// memory flat however much flows). A terminal is never handed over: the
// payload gets a pipe copied to and from it, so no ioctl of the payload's
// can reach the user's terminal.
type Pipes struct {
	// Child are the process's stdin, stdout and stderr.
	Child   [3]*os.File
	closers []*os.File // our copies of the child's ends of the pipes
	wg      sync.WaitGroup
}

// NewPipes returns the process's ends for the user's stdin, stdout and
// stderr: each file as it is, or a pipe copied to or from a terminal.
func NewPipes(stdin, stdout, stderr *os.File) (*Pipes, error) {
	p := &Pipes{}
	for i, f := range []*os.File{stdin, stdout, stderr} {
		if !IsTerminal(int(f.Fd())) {
			p.Child[i] = f
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		if i == 0 {
			p.Child[i] = r
			p.closers = append(p.closers, r)
			go func() { _, _ = io.Copy(w, f); w.Close() }()
			continue
		}
		p.Child[i] = w
		p.closers = append(p.closers, w)
		p.wg.Add(1)
		go func() { defer p.wg.Done(); _, _ = io.Copy(f, r); r.Close() }()
	}
	return p, nil
}

// CloseChildEnds drops our copies once init holds them.
func (p *Pipes) CloseChildEnds() {
	for _, f := range p.closers {
		f.Close()
	}
}

// Drain waits until the output copied from pipes has reached the
// terminal; safe on nil Pipes.
func (p *Pipes) Drain() {
	if p != nil {
		p.wg.Wait()
	}
}
