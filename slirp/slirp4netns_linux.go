package slirp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// startSlirp4netns runs slirp4netns against pid's namespaces. It signals
// readiness on --ready-fd and exits when --exit-fd closes, which happens
// when we Close or die. Ports go through its API socket.
func startSlirp4netns(cfg Config, pid int) (Network, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, err
	}
	api := filepath.Join(cfg.StateDir, "slirp4netns.sock")
	args := []string{"--configure", "--mtu=" + strconv.Itoa(MTU), "--cidr=" + CIDR,
		"--ready-fd=3", "--exit-fd=4", "--api-socket=" + api, "--enable-seccomp"}
	if !cfg.AllowHostLoopback {
		args = append(args, "--disable-host-loopback")
	}
	args = append(args, strconv.Itoa(pid), "tap0")
	cmd := exec.Command("slirp4netns", args...)
	cmd.ExtraFiles = []*os.File{readyW, exitR}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		readyW.Close()
		exitR.Close()
		exitW.Close()
		return nil, &HelperError{Argv: cmd.Args, Err: err}
	}
	readyW.Close()
	exitR.Close()
	h := &helperProcess{backend: Slirp4netns, cmd: cmd, closers: []func(){func() { exitW.Close() }, func() { os.Remove(api) }}}
	buf := make([]byte, 1)
	if n, _ := readyR.Read(buf); n != 1 || buf[0] != '1' {
		h.Close()
		return nil, &HelperError{Argv: cmd.Args, Output: out.String(), Err: fmt.Errorf("it did not become ready")}
	}
	for _, p := range cfg.Ports {
		if err := addHostfwd(api, p); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// addHostfwd asks slirp4netns to forward one host port.
func addHostfwd(api string, p PortSpec) error {
	conn, err := net.DialTimeout("unix", api, 5*time.Second)
	if err != nil {
		return fmt.Errorf("connecting to the slirp4netns API: %w", err)
	}
	defer conn.Close()
	req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": p.Proto, "host_addr": p.HostIP, "host_port": p.HostPort, "guest_port": p.Port,
	}}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return err
	}
	conn.(*net.UnixConn).CloseWrite()
	var resp struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return fmt.Errorf("reading the slirp4netns API reply: %w", err)
	}
	if resp.Error != nil {
		return &PortError{Port: p, Err: fmt.Errorf("slirp4netns: %s", resp.Error.Desc)}
	}
	return nil
}
