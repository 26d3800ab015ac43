package cgroup

import (
	"fmt"
	"sort"
	"strconv"
)

// CPUPeriod is the cpu.max period, in microseconds (the kernel default).
const CPUPeriod = 100000

// Limits are the cgroup v2 limits of one sandbox; zero means unset.
type Limits struct {
	MemoryMax     int64 // bytes; memory.max
	MemorySwapMax int64 // bytes; memory.swap.max (SwapSet says whether set)
	SwapSet       bool
	CPUs          float64 // cpu.max quota in CPUs
	CPUWeight     int     // cpu.weight
	PidsMax       int     // pids.max
	IOWeight      int     // io.weight
}

// Controllers lists the controllers the limits need, sorted.
func (l Limits) Controllers() []string {
	set := map[string]bool{}
	if l.MemoryMax > 0 || l.SwapSet {
		set["memory"] = true
	}
	if l.CPUs > 0 || l.CPUWeight > 0 {
		set["cpu"] = true
	}
	if l.PidsMax > 0 {
		set["pids"] = true
	}
	if l.IOWeight > 0 {
		set["io"] = true
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Files is what to write into the sandbox's cgroup: file name -> content.
func (l Limits) Files() map[string]string {
	f := map[string]string{}
	if l.MemoryMax > 0 {
		f["memory.max"] = strconv.FormatInt(l.MemoryMax, 10)
	}
	if l.SwapSet {
		f["memory.swap.max"] = strconv.FormatInt(l.MemorySwapMax, 10)
	}
	if l.CPUs > 0 {
		f["cpu.max"] = fmt.Sprintf("%d %d", max(int64(l.CPUs*CPUPeriod), 1000), CPUPeriod)
	}
	if l.CPUWeight > 0 {
		f["cpu.weight"] = strconv.Itoa(l.CPUWeight)
	}
	if l.PidsMax > 0 {
		f["pids.max"] = strconv.Itoa(l.PidsMax)
	}
	if l.IOWeight > 0 {
		f["io.weight"] = "default " + strconv.Itoa(l.IOWeight)
	}
	return f
}
