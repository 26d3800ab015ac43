package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// seccompBench measures what the default seccomp filter (and Landlock,
// which seccomp = "off" keeps) costs: start-to-exit of `sandbox run --
// /bin/true`, and a loop of 400,000 read/write calls (dd with 1-byte
// blocks) timed by dd itself inside the sandbox. Filter on and off are
// interleaved.
func seccompBench(sandbox string, rounds, loopRounds int) error {
	profiles := []struct{ name, toml string }{
		{"seccomp default", ""},
		{"seccomp off", "[security]\nseccomp = \"off\"\n"},
	}
	dirs := make([]string, len(profiles))
	for i, p := range profiles {
		dir, err := os.MkdirTemp("", "sandbox-bench-seccomp-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "sandbox.toml"), []byte(p.toml), 0o644); err != nil {
			return err
		}
		dirs[i] = dir
	}
	start := make([][]time.Duration, len(profiles))
	loop := make([][]time.Duration, len(profiles))
	// Three warm-up rounds of start, then rounds counted ones; the loop
	// runs in the first loopRounds rounds, however many those are.
	for i := 0; i < max(rounds+3, loopRounds); i++ {
		for j := range profiles {
			if i < rounds+3 {
				d, err := timeRun(dirs[j], []string{sandbox, "run", "--", "/bin/true"})
				if err != nil {
					return fmt.Errorf("%s: %w", profiles[j].name, err)
				}
				if i >= 3 {
					start[j] = append(start[j], d)
				}
			}
			if i < loopRounds {
				d, err := ddLoop(sandbox, dirs[j])
				if err != nil {
					return fmt.Errorf("%s: %w", profiles[j].name, err)
				}
				loop[j] = append(loop[j], d)
			}
		}
	}
	fmt.Printf("seccomp filter: start-to-exit of /bin/true (%d rounds), 400k read/write calls in dd (%d rounds)\n", rounds, loopRounds)
	for j, p := range profiles {
		line := fmt.Sprintf("  %-16s", p.name)
		if rounds > 0 {
			line += fmt.Sprintf(" start median %6.2f ms  p90 %6.2f ms", ms(median(start[j])), ms(percentile(start[j], 0.9)))
		}
		if loopRounds > 0 {
			l := median(loop[j])
			line += fmt.Sprintf("   loop median %7.1f ms (%4.0f ns/call)", ms(l), float64(l.Nanoseconds())/4e5)
		}
		fmt.Println(line)
	}
	return nil
}

var ddTime = regexp.MustCompile(`copied, ([0-9.]+) s`)

// ddLoop runs dd with 1-byte blocks in the sandbox and returns its own
// time for the copy, without the sandbox's start-up.
func ddLoop(sandbox, dir string) (time.Duration, error) {
	cmd := exec.Command(sandbox, "run", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=200000")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	m := ddTime.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no time in dd's output: %s", out)
	}
	s, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(s * float64(time.Second)), nil
}
