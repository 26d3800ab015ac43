package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// networkBench measures TCP throughput with iperf3: out of the sandbox to a
// server on the host's loopback (allow_host_loopback) and into it through a
// forwarded port, for both helpers, against each helper run raw. bench.sh
// runs it in a network namespace of its own (loopback and a sink), so no
// packet leaves the machine.
func networkBench(sandbox string, rounds int) error {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return fmt.Errorf("iperf3 not found (install package iperf3)")
	}
	dir, err := os.MkdirTemp("", "sandbox-netbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	server := exec.Command("iperf3", "-s", "-B", "127.0.0.1", "-p", "5201")
	if err := server.Start(); err != nil {
		return err
	}
	defer func() { server.Process.Kill(); server.Wait() }()
	if err := awaitListener(5201, 10*time.Second); err != nil {
		return fmt.Errorf("the iperf3 server: %w", err)
	}

	client := []string{"iperf3", "-c", "10.0.2.2", "-p", "5201", "-t", "3", "-J"}
	outOf := func(backend string) func() (float64, error) {
		p := netProfile(sandbox, dir, backend+"-out", "backend = \""+backend+"\"\nallow_host_loopback = true\n")
		return func() (float64, error) {
			return iperf(append([]string{sandbox, "run", "--profile", p, "--"}, client...))
		}
	}
	into := func(backend string) func() (float64, error) {
		p := netProfile(sandbox, dir, backend+"-in", "backend = \""+backend+"\"\nports = [\"127.0.0.1:15201:5201\"]\n")
		return func() (float64, error) {
			return intoSandbox(sandbox, p)
		}
	}
	variants := []struct {
		name string
		run  func() (float64, error)
	}{
		// Raw pasta with the flags sandbox gives it (slirp.startPasta with
		// allow_host_loopback), so the ratio is the sandbox's own cost.
		{"raw pasta, out to host loopback", func() (float64, error) {
			return iperf(append([]string{"pasta", "--quiet", "-I", "tap0", "--config-net", "-a", "10.0.2.100", "-n", "24", "-g", "10.0.2.2",
				"--dns-forward", "10.0.2.3", "-m", "65520", "-t", "none", "-u", "none", "-T", "auto", "-U", "auto", "--"}, client...))
		}},
		{"sandbox pasta, out to host loopback", outOf("pasta")},
		{"raw slirp4netns, out to host loopback", func() (float64, error) { return rawSlirp(client) }},
		{"sandbox slirp4netns, out to host loopback", outOf("slirp4netns")},
		{"sandbox pasta, into forwarded port", into("pasta")},
		{"sandbox slirp4netns, into forwarded port", into("slirp4netns")},
	}
	results := make([][]float64, len(variants))
	for i := 0; i < rounds; i++ {
		for j, v := range variants {
			bps, err := v.run()
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			results[j] = append(results[j], bps)
		}
	}
	names := make([]string, len(variants))
	for j, v := range variants {
		names[j] = v.name
	}
	printThroughput(names, results, rounds)
	return nil
}

// netProfile writes a mode-slirp profile with body and trusts it: host
// loopback and published ports are grants, which run only once trusted.
func netProfile(sandbox, dir, name, body string) string {
	p := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(p, []byte("[network]\nmode = \"slirp\"\n"+body), 0o644); err != nil {
		fatal(err)
	}
	if out, err := exec.Command(sandbox, "trust", p).CombinedOutput(); err != nil {
		fatal(fmt.Errorf("trusting %s: %v: %s", p, err, out))
	}
	return p
}

// printThroughput prints each variant's median and range; the sandbox's
// "out" variants also as a ratio of the raw helper's (results[0]: raw
// pasta, results[2]: raw slirp4netns).
func printThroughput(names []string, results [][]float64, rounds int) {
	fmt.Printf("\nTCP throughput (iperf3, 3 s), median (min-max) of %d interleaved rounds\n", rounds)
	raw := map[string]float64{"pasta": medianF(results[0]), "slirp4netns": medianF(results[2])}
	for j, name := range names {
		m := medianF(results[j])
		note := ""
		for b, r := range raw {
			if strings.HasPrefix(name, "sandbox "+b+", out") {
				note = fmt.Sprintf("   %.2fx raw %s", m/r, b)
			}
		}
		lo, hi := minMax(results[j])
		fmt.Printf("  %-42s %6.2f Gbit/s (%.2f-%.2f)%s\n", name, m/1e9, lo/1e9, hi/1e9, note)
	}
}

// iperf runs argv, an iperf3 client (-J) or a command that runs one,
// and returns the received bits/s. A client that has not ended within
// iperfLimit is killed: the benchmark reports it and never waits for ever.
func iperf(argv []string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), iperfLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// A grandchild holding stdout (a payload outliving sandbox) must not
	// keep Output waiting either.
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("%s: still running after %v, killed", strings.Join(argv, " "), iperfLimit)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return parseIperf(string(out))
}

func parseIperf(out string) (float64, error) {
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return 0, fmt.Errorf("no iperf3 JSON in %q", out)
	}
	if err := json.Unmarshal([]byte(out[i:]), &r); err != nil {
		return 0, fmt.Errorf("reading iperf3's JSON: %v", err)
	}
	if r.Error != "" {
		// iperf3 -J exits 0 on a failed test (a connection reset by a
		// forwarder whose server is not listening yet): retry, not 0 bit/s.
		return 0, fmt.Errorf("iperf3: %s", r.Error)
	}
	return r.End.SumReceived.BitsPerSecond, nil
}

// rawSlirp runs the client in a bare user and network namespace (unshare)
// with slirp4netns attached by hand, as rootless podman did. The client
// starts once slirp4netns says (--ready-fd) that tap0 is configured: a
// fixed wait was too short on a loaded machine ("Network is unreachable").
func rawSlirp(client []string) (float64, error) {
	// The same flags as slirp.startSlirp4netns with allow_host_loopback.
	ctx, cancel := context.WithTimeout(context.Background(), iperfLimit)
	defer cancel()
	goR, goW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer goW.Close()
	ns := exec.CommandContext(ctx, "unshare", "--user", "--map-root-user", "--net", "sh", "-c", "read go <&3 && exec "+strings.Join(client, " "))
	out := &strings.Builder{}
	ns.Stdout = out
	ns.ExtraFiles = []*os.File{goR}
	ns.WaitDelay = time.Second
	err = ns.Start()
	goR.Close()
	if err != nil {
		return 0, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		ns.Process.Kill()
		ns.Wait()
		return 0, err
	}
	defer readyR.Close()
	helper := exec.Command("slirp4netns", "--configure", "--mtu=65520", "--cidr=10.0.2.0/24", "--enable-seccomp", "--ready-fd=3", strconv.Itoa(ns.Process.Pid), "tap0")
	helper.ExtraFiles = []*os.File{readyW}
	err = helper.Start()
	readyW.Close()
	if err != nil {
		ns.Process.Kill()
		ns.Wait()
		return 0, err
	}
	defer func() { helper.Process.Kill(); helper.Wait() }()
	// slirp4netns writes "1" once tap0 is up; EOF means it failed.
	_ = readyR.SetReadDeadline(time.Now().Add(iperfLimit))
	if _, err := readyR.Read(make([]byte, 1)); err != nil {
		ns.Process.Kill()
		ns.Wait()
		return 0, fmt.Errorf("raw slirp4netns did not get ready: %v", err)
	}
	if _, err := goW.WriteString("go\n"); err != nil {
		ns.Process.Kill()
		ns.Wait()
		return 0, err
	}
	if err := ns.Wait(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("still running after %v, killed", iperfLimit)
		}
		return 0, fmt.Errorf("raw slirp4netns: %v: %s", err, out.String())
	}
	return parseIperf(out.String())
}

func medianF(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func minMax(xs []float64) (float64, float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[0], s[len(s)-1]
}

// awaitListener waits until a TCP socket listens on 127.0.0.1:port in
// this network namespace (/proc/net/tcp), without connecting to it: a
// probe connection would be an iperf3 test that fails.
func awaitListener(port int, limit time.Duration) error {
	want := fmt.Sprintf("0100007F:%04X 00000000:0000 0A", port)
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile("/proc/net/tcp")
		if err == nil && strings.Contains(string(b), want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on 127.0.0.1:%d after %v", port, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
