package imagestore

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// On a slow disk, creating files costs far more than decompressing them
// (about 0.4 ms per file on this project's CI VM), so small files and
// symlinks are written by several goroutines while the tar stream is read
// on. Directories, hardlinks and replacements stay in stream order: an
// entry that touches a path still being written waits for the pool.
const (
	poolWorkers = 8
	smallFile   = 1 << 20 // bodies up to this size are buffered and handed over
)

type pool struct {
	jobs    chan func() error
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	pending map[string]bool // entry names submitted since the last wait
}

func newPool() *pool {
	p := &pool{jobs: make(chan func() error, 4*poolWorkers), pending: map[string]bool{}}
	for range poolWorkers {
		go func() {
			for job := range p.jobs {
				if err := job(); err != nil {
					p.mu.Lock()
					if p.err == nil {
						p.err = err
					}
					p.mu.Unlock()
				}
				p.wg.Done()
			}
		}()
	}
	return p
}

// submit runs job on a worker with the parent directory's fd, which
// stays open until the job is done (the stream's reader may have moved
// on to another directory meanwhile).
func (p *pool) submit(name string, parent *dirRef, job func(parent int) error) error {
	parent.hold()
	p.pending[name] = true
	p.wg.Add(1)
	p.jobs <- func() error {
		defer parent.release()
		return job(parent.fd)
	}
	return p.failed()
}

// touch waits for the pool if name is still being written.
func (p *pool) touch(name string) error {
	if p.pending[name] {
		return p.wait()
	}
	return nil
}

// wait is a barrier: every job submitted so far is done.
func (p *pool) wait() error {
	p.wg.Wait()
	clear(p.pending)
	return p.failed()
}

func (p *pool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *pool) close() {
	p.wg.Wait()
	close(p.jobs)
}

// dirRef is a directory fd shared by the stream's reader and the pool's
// jobs, closed by the last to let go of it: one fd per directory rather
// than a duplicate (and a close) per job.
type dirRef struct {
	fd   int
	refs atomic.Int32
}

func newDirRef(fd int) *dirRef {
	d := &dirRef{fd: fd}
	d.refs.Store(1)
	return d
}

func (d *dirRef) hold() { d.refs.Add(1) }

func (d *dirRef) release() {
	if d.refs.Add(-1) == 0 {
		unix.Close(d.fd)
	}
}
