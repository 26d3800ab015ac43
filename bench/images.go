package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sandbox/internal/testregistry"
	"time"
)

// imageBench measures what the images issue asks: pull+unpack of the
// Debian minbase image from a local docker-registry, by sandbox, by podman
// (rootless, native overlay, a fresh store each round) and by skopeo copy +
// umoci unpack --rootless; then the start of `sandbox run --image` against
// the host base. Each round starts from empty stores; tools interleave.
func imageBench(sandbox, layout string, rounds, startRounds int) error {
	work, err := os.MkdirTemp("", "sandbox-imgbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	host, stop, err := testregistry.Serve(work, "error", io.Discard)
	if err != nil {
		return err
	}
	defer stop()
	ref := host + "/debian:minbase"
	if out, err := exec.Command("skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:"+layout+":minbase", "docker://"+ref).CombinedOutput(); err != nil {
		return fmt.Errorf("pushing the image: %v: %s", err, out)
	}
	data := func(dir string) string { return filepath.Join(dir, "data") }
	tools := []tool{
		{"sandbox pull", func(dir string) []string {
			return []string{"env", "XDG_DATA_HOME=" + data(dir), sandbox, "pull", "-q", "--tls-verify=false", ref}
		}, func(dir string) []string {
			return []string{"env", "XDG_DATA_HOME=" + data(dir), sandbox, "prune", "--all"}
		}},
		{"podman pull", func(dir string) []string {
			return []string{"podman", "--root", data(dir), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "overlay",
				"pull", "-q", "--tls-verify=false", ref}
		}, func(dir string) []string {
			return []string{"podman", "--root", data(dir), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "overlay", "system", "reset", "-f"}
		}},
		{"skopeo+umoci", func(dir string) []string {
			return []string{"sh", "-c", "skopeo copy -q --src-tls-verify=false docker://" + ref + " oci:" + data(dir) + ":t && umoci unpack --rootless --image " + data(dir) + ":t " + filepath.Join(dir, "bundle") + " >/dev/null"}
		}, nil},
	}
	if rounds > 0 {
		if err := pullBench(tools, work, layout, rounds); err != nil {
			return err
		}
	}
	if startRounds > 0 {
		if err := imageStartBench(sandbox, ref, work, startRounds); err != nil {
			return err
		}
	}
	if err := changesBench(sandbox, ref, work, 3); err != nil {
		return err
	}
	if startRounds == 0 {
		return nil
	}
	return execBench(sandbox, ref, work, startRounds)
}

// pullBench times each tool's pull into an empty store, interleaved.
func pullBench(tools []tool, work, layout string, rounds int) error {
	times := make([][]time.Duration, len(tools))
	for i := 0; i < rounds; i++ {
		for j, t := range tools {
			dir := filepath.Join(work, fmt.Sprintf("%d-%d", i, j))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			d, err := timeRun(dir, t.pull(dir))
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			times[j] = append(times[j], d)
			if t.clean != nil {
				if _, err := timeRun(dir, t.clean(dir)); err != nil {
					return fmt.Errorf("cleaning after %s: %w", t.name, err)
				}
			}
			os.RemoveAll(dir)
		}
	}
	fmt.Printf("\npull+unpack of debian:minbase (debootstrap, %s) from docker-registry on 127.0.0.1, %d interleaved rounds, empty stores\n", dirSize(layout), rounds)
	base := median(times[1])
	for j, t := range tools {
		m := median(times[j])
		fmt.Printf("  %-16s median %7.1f ms   min %7.1f ms   %5.2fx podman\n", t.name, ms(m), ms(percentile(times[j], 0)), float64(m)/float64(base))
	}
	return nil
}

// imageStartBench compares `sandbox run --image REF -- /bin/true` (the
// project's persistent layer, and --ephemeral) with the host base.
func imageStartBench(sandbox, ref, work string, rounds int) error {
	project := filepath.Join(work, "project")
	dataDir := filepath.Join(work, "startdata")
	os.MkdirAll(project, 0o700)
	env := []string{"env", "XDG_DATA_HOME=" + dataDir}
	variants := []variant{
		{"host base", append(env, sandbox, "run", "--", "/bin/true")},
		{"image", append(env, sandbox, "run", "--tls-verify=false", "--image", ref, "--", "/bin/true")},
		{"image --ephemeral", append(env, sandbox, "run", "--ephemeral", "--tls-verify=false", "--image", ref, "--", "/bin/true")},
	}
	times, err := interleave(project, variants, rounds)
	if err != nil {
		return err
	}
	defer timeRun(project, append(env, sandbox, "reset"))
	fmt.Printf("\nstart-to-exit of /bin/true, %d interleaved rounds (image already pulled)\n", rounds)
	base := median(times[0])
	for j, v := range variants {
		m := median(times[j])
		fmt.Printf("  %-18s median %6.2f ms   p90 %6.2f ms   %5.2fx host base\n", v.name, ms(m), ms(percentile(times[j], 0.9)), float64(m)/float64(base))
	}
	return nil
}

// tool is a way to pull an image into an empty store in dir, and to
// empty it again (nil: removing dir is enough).
type tool struct {
	name  string
	pull  func(dir string) []string
	clean func(dir string) []string
}

func dirSize(dir string) string {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return fmt.Sprintf("%.1f MiB compressed", float64(n)/(1<<20))
}
