// Command bench prints start-to-exit times of `sandbox run -- true` against
// bubblewrap with equivalent isolation and against unshare, interleaved in
// one run so that machine noise hits all of them alike. `make bench` runs
// it (as an unprivileged user).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

type variant struct {
	name string
	argv []string
}

func main() {
	sandbox := flag.String("sandbox", "bin/sandbox", "the sandbox binary")
	rounds := flag.Int("n", 50, "rounds of the start-up benchmarks: sandbox against bwrap, seccomp's start, image start and exec (0: skip them)")
	netRounds := flag.Int("net-rounds", 3, "rounds of the network benchmark (0: skip it)")
	debian := flag.String("debian-oci", "", "the Debian minbase OCI layout (scripts/test-images.sh) for the image benchmark; empty: skip it")
	imageRounds := flag.Int("image-rounds", 5, "rounds of the pull benchmark (0: skip it; image start, exec and change management still run)")
	seccompRounds := flag.Int("seccomp-loop-rounds", 5, "rounds of the seccomp syscall-loop benchmark (0: skip the seccomp benchmark)")
	flag.Parse()

	project, err := os.MkdirTemp("", "sandbox-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(project)
	variants := []variant{
		{"sandbox run", []string{*sandbox, "run", "--", "/bin/true"}},
		{"bwrap", []string{"bwrap", "--unshare-all", "--die-with-parent", "--new-session",
			"--ro-bind", "/", "/", "--tmpfs", "/tmp", "--bind", project, project,
			"--proc", "/proc", "--dev", "/dev", "--chdir", project, "/bin/true"}},
		{"unshare -Urmpf", []string{"unshare", "-Urmpf", "--mount-proc", "/bin/true"}},
		{"sandbox version", []string{*sandbox, "version"}},
	}
	// Each section runs only with rounds to time: a median of none has
	// no value to print.
	if *rounds > 0 {
		times, err := interleave(project, variants, *rounds)
		if err != nil {
			fatal(err)
		}
		printMachine(median(times[3]))
		fmt.Printf("start-to-exit of /bin/true, %d interleaved rounds, uid %d, %s\n", *rounds, os.Getuid(), time.Now().Format(time.DateTime))
		base := median(times[1])
		for j, v := range variants[:3] {
			m := median(times[j])
			fmt.Printf("  %-16s median %6.2f ms   p90 %6.2f ms   %5.2fx bwrap\n", v.name, ms(m), ms(percentile(times[j], 0.9)), float64(m)/float64(base))
		}
	}
	if *seccompRounds > 0 {
		if err := seccompBench(*sandbox, *rounds, *seccompRounds); err != nil {
			fatal(err)
		}
	}
	if *netRounds > 0 {
		if err := networkBench(*sandbox, *netRounds); err != nil {
			fatal(err)
		}
	}
	if *debian != "" {
		if err := imageBench(*sandbox, *debian, *imageRounds, *rounds); err != nil {
			fatal(err)
		}
	}
}

func timeRun(dir string, argv []string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	return time.Since(start), nil
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
