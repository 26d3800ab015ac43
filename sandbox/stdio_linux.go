package sandbox

import (
	"io"
	"os"
	"sync"

	"sandbox/console"
)

// stdioPipes gives the payload its standard streams in pipe mode. Pipes
// and files are handed over as they are (no copy: output is byte-exact and
// memory flat however much flows). A terminal is never handed over: the
// payload gets a pipe copied to and from it, so no ioctl of the payload's
// can reach the user's terminal.
type stdioPipes struct {
	child   [3]*os.File
	closers []*os.File // our copies of the child's ends of the pipes
	wg      sync.WaitGroup
}

func newStdioPipes(stdin, stdout, stderr *os.File) (*stdioPipes, error) {
	p := &stdioPipes{}
	for i, f := range []*os.File{stdin, stdout, stderr} {
		if !console.IsTerminal(int(f.Fd())) {
			p.child[i] = f
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		if i == 0 {
			p.child[i] = r
			p.closers = append(p.closers, r)
			go func() { _, _ = io.Copy(w, f); w.Close() }()
			continue
		}
		p.child[i] = w
		p.closers = append(p.closers, w)
		p.wg.Add(1)
		go func() { defer p.wg.Done(); _, _ = io.Copy(f, r); r.Close() }()
	}
	return p, nil
}

// closeChildEnds drops our copies once init holds them.
func (p *stdioPipes) closeChildEnds() {
	for _, f := range p.closers {
		f.Close()
	}
}

// drain waits until the output copied from pipes has reached the terminal.
func (p *stdioPipes) drain() {
	if p != nil {
		p.wg.Wait()
	}
}
