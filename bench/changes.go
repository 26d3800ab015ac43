package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// changesBench measures commit of a 200 MB change and diff of a 100k-file
// change, by sandbox and by podman (rootless, runc, vfs storage), on the
// same change made in each, interleaved, rounds times.
func changesBench(sandbox, ref, work string, rounds int) error {
	big := "head -c 200000000 /dev/urandom > /big"
	many := "mkdir /many && cd /many && seq 100000 | xargs touch"
	project := filepath.Join(work, "changes-project")
	data := filepath.Join(work, "changes-data")
	pmRoot, err := os.MkdirTemp("/tmp", "pmb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(pmRoot)
	os.MkdirAll(project, 0o700)
	os.WriteFile(filepath.Join(project, "sandbox.toml"), []byte(fmt.Sprintf("image = %q\ninsecure_registries = [%q]\n", ref, hostOf(ref))), 0o644)
	sb := func(args ...string) []string {
		return append([]string{"env", "XDG_DATA_HOME=" + data, sandbox}, args...)
	}
	pm := func(args ...string) []string {
		return append([]string{"podman", "--root", pmRoot + "/root", "--runroot", pmRoot + "/run", "--storage-driver", "overlay",
			"--runtime", "runc", "--cgroup-manager", "cgroupfs"}, args...)
	}
	defer timeRun(project, pm("system", "reset", "-f"))
	defer timeRun(project, sb("reset"))
	for _, argv := range [][]string{pm("pull", "-q", "--tls-verify=false", ref), sb("run", "--", "true")} {
		if _, err := timeRun(project, argv); err != nil {
			return fmt.Errorf("%v: %w", argv, err)
		}
	}
	var commit, podCommit, diff, podDiff []time.Duration
	for i := 0; i < rounds; i++ {
		steps := []struct {
			argv []string
			into *[]time.Duration
		}{
			{sb("rollback", "base"), nil},
			{sb("run", "--", "sh", "-c", big), nil},
			{sb("commit", "-m", "big"), &commit},
			{pm("run", "--name", "big", "--network", "none", ref, "sh", "-c", big), nil},
			{pm("commit", "-q", "big", "bench-big"), &podCommit},
			{pm("rm", "big"), nil},
			{sb("rollback", "base"), nil},
			{sb("run", "--", "sh", "-c", many), nil},
			{sb("diff"), &diff},
			{pm("run", "--name", "many", "--network", "none", ref, "sh", "-c", many), nil},
			{pm("diff", "many"), &podDiff},
			{pm("rm", "many"), nil},
			{pm("rmi", "bench-big"), nil},
		}
		for _, s := range steps {
			d, err := timeRun(project, s.argv)
			if err != nil {
				return fmt.Errorf("%v: %w", s.argv, err)
			}
			if s.into != nil {
				*s.into = append(*s.into, d)
			}
		}
	}
	fmt.Printf("\nchange management on %s, %d interleaved rounds (podman: native overlay storage, runc)\n", ref, rounds)
	for _, r := range []struct {
		name       string
		ours, pods []time.Duration
	}{{"commit of a 200 MB change", commit, podCommit}, {"diff of a 100k-file change", diff, podDiff}} {
		fmt.Printf("  %-28s sandbox median %7.1f ms   podman median %7.1f ms   %5.2fx podman\n", r.name, ms(median(r.ours)), ms(median(r.pods)), float64(median(r.ours))/float64(median(r.pods)))
	}
	return nil
}

func hostOf(ref string) string {
	for i := 0; i < len(ref); i++ {
		if ref[i] == '/' {
			return ref[:i]
		}
	}
	return ref
}
