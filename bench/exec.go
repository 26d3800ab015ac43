package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// execBench measures what the lifecycle issue asks: the start-to-exit time
// of `/bin/true` exec'd into a running sandbox (`sandbox exec`, through
// the run's supervisor and init) against `podman exec` (conmon, runc
// exec: setns), both on the Debian image, interleaved.
func execBench(sandbox, ref, work string, rounds int) error {
	project := filepath.Join(work, "execproject")
	dir := filepath.Join(work, "exec")
	for _, d := range []string{project, dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	env := []string{"env", "XDG_DATA_HOME=" + filepath.Join(dir, "sandbox")}
	id, err := output(project, append(env, sandbox, "run", "-d", "--ephemeral", "--tls-verify=false", "--image", ref, "--", "sleep", "100000")...)
	if err != nil {
		return fmt.Errorf("sandbox run -d: %w", err)
	}
	defer func() {
		exec.Command(sandbox, "stop", "-t", "0", id).Run()
		exec.Command(sandbox, "rm", id).Run()
	}()
	podman := []string{"podman", "--root", filepath.Join(dir, "podman"), "--runroot", filepath.Join(dir, "podman-run"), "--storage-driver", "overlay"}
	pid, err := output(dir, append(podman, "run", "-d", "-q", "--tls-verify=false", "--network", "none", ref, "sleep", "100000")...)
	if err != nil {
		return fmt.Errorf("podman run -d: %w", err)
	}
	defer exec.Command(podman[0], append(podman[1:], "system", "reset", "-f")...).Run()
	defer exec.Command(podman[0], append(podman[1:], "rm", "-f", "-t", "0", pid)...).Run()
	variants := []variant{
		{"sandbox exec", append(env, sandbox, "exec", id, "--", "/bin/true")},
		{"podman exec", append(podman, "exec", pid, "/bin/true")},
	}
	times, err := interleave(project, variants, rounds)
	if err != nil {
		return err
	}
	fmt.Printf("\nexec of /bin/true into a running debian:minbase sandbox/container, %d interleaved rounds\n", rounds)
	base := median(times[1])
	for j, v := range variants {
		m := median(times[j])
		fmt.Printf("  %-16s median %7.2f ms   p90 %7.2f ms   %5.2fx podman\n", v.name, ms(m), ms(percentile(times[j], 0.9)), float64(m)/float64(base))
	}
	return nil
}

// output runs argv in dir and returns its trimmed stdout.
func output(dir string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// interleave times each variant in project, one after another, for three
// warm-up rounds and then rounds counted ones.
func interleave(project string, variants []variant, rounds int) ([][]time.Duration, error) {
	times := make([][]time.Duration, len(variants))
	for i := 0; i < rounds+3; i++ {
		for j, v := range variants {
			d, err := timeRun(project, v.argv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			if i >= 3 {
				times[j] = append(times[j], d)
			}
		}
	}
	return times, nil
}
