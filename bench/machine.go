package main

import (
	"fmt"
	"syscall"
	"time"
)

// faultCost is the time of a first touch of an anonymous page, the
// machine's price for memory a new process writes: a Go program's runtime
// start writes ~150 pages (`perf stat -e page-faults` of an empty one), a
// C program's ~50. On a desktop a first touch is a fraction of a
// microsecond; in a VM whose host backs guest memory lazily it can be a
// hundred times that, and then every Go process start of a run costs
// milliseconds that bwrap, one C process, does not pay.
func faultCost() (time.Duration, error) {
	const pages = 4096
	page := syscall.Getpagesize()
	var best time.Duration
	for range 3 {
		mem, err := syscall.Mmap(-1, 0, pages*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			return 0, fmt.Errorf("mapping memory: %w", err)
		}
		// Small pages, as a process start touches them: with transparent
		// huge pages "always" one touch would map 512.
		_ = syscall.Madvise(mem, 15) // MADV_NOHUGEPAGE
		start := time.Now()
		for i := 0; i < len(mem); i += page {
			mem[i] = 1
		}
		d := time.Since(start) / pages
		_ = syscall.Munmap(mem)
		if best == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

// printMachine says what a process start costs on this machine, so that
// the ratios below can be read: the first touch of a page, and `sandbox
// version`, the CLI's own start with nothing to do.
func printMachine(version time.Duration) {
	cost, err := faultCost()
	if err != nil {
		fmt.Printf("this machine: %v\n", err)
		return
	}
	fmt.Printf("this machine: first touch of an anonymous page %.2f us (a desktop: ~0.2 us); `sandbox version` %.2f ms\n", float64(cost.Nanoseconds())/1000, ms(version))
}
