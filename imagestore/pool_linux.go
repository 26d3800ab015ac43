package imagestore

import (
	"sync"

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

// submit runs job on a worker with its own duplicate of the parent
// directory's fd, which the stream's reader may close meanwhile.
func (p *pool) submit(name string, parent int, job func(parent int) error) error {
	fd, err := unix.FcntlInt(uintptr(parent), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return err
	}
	p.pending[name] = true
	p.wg.Add(1)
	p.jobs <- func() error {
		defer unix.Close(fd)
		return job(fd)
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
