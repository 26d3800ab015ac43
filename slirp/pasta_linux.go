package slirp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// startPasta runs pasta against pid's namespaces. pasta configures the tap
// device, then daemonizes: its first process exiting 0 means ready. It
// quits by itself when the sandbox's namespace goes away.
//
// pasta's defaults forward far more than we want: -T/-U auto make the
// host's loopback ports reachable from the sandbox, and the gateway
// address maps to the host. Both are off unless AllowHostLoopback.
func startPasta(cfg Config, pid int) (Network, error) {
	pidFile := filepath.Join(cfg.StateDir, "pasta.pid")
	args := []string{"--quiet", "--pid", pidFile, "-I", "tap0"}
	if !cfg.NoRoute {
		args = append(args, "--config-net", "-a", Address, "-n", "24", "-g", Gateway,
			"--dns-forward", DNS, "-m", strconv.Itoa(MTU))
	}
	tcp, udp := portArgs(cfg.Ports)
	args = append(args, orNone("-t", tcp)...)
	args = append(args, orNone("-u", udp)...)
	if cfg.AllowHostLoopback {
		args = append(args, "-T", "auto", "-U", "auto")
	} else {
		args = append(args, "-T", "none", "-U", "none", "--no-map-gw")
	}
	args = append(args, strconv.Itoa(pid))
	release := func() {}
	if cfg.Watchdog != nil {
		var err error
		if release, err = watch(cfg.Watchdog(), pidFile); err != nil {
			return nil, fmt.Errorf("starting the watchdog of pasta: %w", err)
		}
	}
	cmd := exec.Command("pasta", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		release()
		return nil, &HelperError{Argv: cmd.Args, Output: out.String(), Err: err}
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		release()
		return nil, &HelperError{Argv: cmd.Args, Output: "no pid file", Err: err}
	}
	daemon, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		release()
		return nil, &HelperError{Argv: cmd.Args, Output: "bad pid file", Err: errors.New(string(b))}
	}
	return &helperProcess{backend: Pasta, pid: daemon, closers: []func(){func() { os.Remove(pidFile) }, release}}, nil
}

// portArgs renders ports as pasta's ADDR/PORT:TARGET specs.
func portArgs(ports []PortSpec) (tcp, udp []string) {
	for _, p := range ports {
		spec := p.HostIP + "/" + strconv.Itoa(p.HostPort) + ":" + strconv.Itoa(p.Port)
		if p.Proto == "udp" {
			udp = append(udp, spec)
		} else {
			tcp = append(tcp, spec)
		}
	}
	return tcp, udp
}

func orNone(flag string, specs []string) []string {
	if len(specs) == 0 {
		return []string{flag, "none"}
	}
	var out []string
	for _, s := range specs {
		out = append(out, flag, s)
	}
	return out
}
