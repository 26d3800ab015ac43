package slirp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoHelper means neither pasta nor slirp4netns is installed.
var ErrNoHelper error = noHelper{}

type noHelper struct{}

func (noHelper) Error() string {
	return "network mode slirp needs pasta or slirp4netns, and neither is installed"
}
func (noHelper) Hint() string {
	return "sudo apt-get install passt (or slirp4netns); or use network mode none"
}

// HelperError is a helper that failed to start, with its argv and output.
type HelperError struct {
	Argv   []string
	Output string
	Err    error
}

func (e *HelperError) Error() string {
	return fmt.Sprintf("starting %s: %v: %s", strings.Join(e.Argv, " "), e.Err, strings.TrimSpace(e.Output))
}

func (e *HelperError) Unwrap() error { return e.Err }

// Hint points at the usual causes.
func (e *HelperError) Hint() string {
	if strings.Contains(e.Output, "/dev/net/tun") {
		return "the helper cannot open /dev/net/tun: sudo chmod 666 /dev/net/tun (desktops ship it so); see sandbox doctor"
	}
	return "see sandbox doctor"
}

// TunFix is how to open up /dev/net/tun, as sandbox doctor says it.
const TunFix = "sudo chmod 666 /dev/net/tun  # desktops ship it 0666"

// tunDevice is the device both helpers open.
var tunDevice = "/dev/net/tun"

// TunError is a host where the helper could not open /dev/net/tun: found
// before starting it, so the user reads the fix, not the helper's output.
type TunError struct{ Err error }

func (e *TunError) Error() string {
	return fmt.Sprintf("the network helper needs %s, which cannot be opened: %v", tunDevice, e.Err)
}
func (e *TunError) Unwrap() error { return e.Err }

// Hint is sandbox doctor's fix.
func (e *TunError) Hint() string {
	if errors.Is(e.Err, os.ErrNotExist) {
		return "load the tun module (sudo modprobe tun); see sandbox doctor"
	}
	return TunFix + "; see sandbox doctor"
}

// checkTun opens the tun device as the helper will (it runs as this user).
func checkTun() error {
	f, err := os.OpenFile(tunDevice, os.O_RDWR, 0)
	if err != nil {
		return &TunError{Err: err}
	}
	return f.Close()
}

// Start attaches a user-mode network to the network namespace of pid (a
// process whose user namespace is ours to join).
func Start(cfg Config, pid int) (Network, error) {
	backend, err := choose(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkTun(); err != nil {
		return nil, err
	}
	for _, p := range cfg.Ports {
		if err := CheckFree(p); err != nil {
			return nil, err
		}
	}
	if backend == Pasta {
		return startPasta(cfg, pid)
	}
	if cfg.NoRoute && len(cfg.Ports) > 0 {
		return nil, errors.New("ports in network mode proxy need pasta (install package passt)")
	}
	return startSlirp4netns(cfg, pid)
}

func choose(cfg Config) (string, error) {
	if cfg.Backend != "" {
		if _, err := exec.LookPath(cfg.Backend); err != nil {
			pkg := map[string]string{Pasta: "passt", Slirp4netns: "slirp4netns"}[cfg.Backend]
			return "", fmt.Errorf("network backend %s not found (install package %s)", cfg.Backend, pkg)
		}
		return cfg.Backend, nil
	}
	for _, b := range []string{Pasta, Slirp4netns} {
		if _, err := exec.LookPath(b); err == nil {
			return b, nil
		}
	}
	return "", ErrNoHelper
}

// PortError is a host port that cannot be forwarded.
type PortError struct {
	Port   PortSpec
	Holder string // "pid 1234 (python3)" when visible
	Err    error
}

func (e *PortError) Error() string {
	addr := net.JoinHostPort(e.Port.HostIP, strconv.Itoa(e.Port.HostPort)) + "/" + e.Port.Proto
	if e.Holder != "" {
		return fmt.Sprintf("cannot forward port %s: it is in use by %s", addr, e.Holder)
	}
	return fmt.Sprintf("cannot forward port %s: %v", addr, e.Err)
}

func (e *PortError) Unwrap() error { return e.Err }

// Hint explains privileged ports and busy ones.
func (e *PortError) Hint() string {
	if errors.Is(e.Err, syscall.EACCES) && e.Port.HostPort < 1024 {
		b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
		return fmt.Sprintf("ports below %s need privilege (net.ipv4.ip_unprivileged_port_start): use a host port >= 1024, e.g. %d:%d, or sudo sysctl -w net.ipv4.ip_unprivileged_port_start=%d",
			strings.TrimSpace(string(b)), e.Port.HostPort+8000, e.Port.Port, e.Port.HostPort)
	}
	if errors.Is(e.Err, syscall.EADDRINUSE) {
		return "stop what holds it, or choose another host port"
	}
	return ""
}

// CheckFree binds the host side of p once to find out, before the helper
// does, whether it is free, and who holds it if not.
func CheckFree(p PortSpec) error {
	addr := net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort))
	var err error
	if p.Proto == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", addr); err == nil {
			return c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			return l.Close()
		}
	}
	pe := &PortError{Port: p, Err: err}
	if errors.Is(err, syscall.EADDRINUSE) {
		pe.Holder = holder(p)
	}
	return pe
}

// holder finds the process listening on p's port, through /proc/net and
// the fds of processes we may look at.
func holder(p PortSpec) string {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/" + p.Proto, "/proc/net/" + p.Proto + "6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			_, portHex, _ := strings.Cut(fields[1], ":")
			port, err := strconv.ParseInt(portHex, 16, 32)
			if err == nil && int(port) == p.HostPort && (p.Proto == "udp" || fields[3] == "0A") {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("pid %s (%s)", pid, strings.TrimSpace(string(comm)))
		}
	}
	if len(inodes) > 0 {
		return "a process whose files we cannot inspect (another user's, or another sandbox's network helper)"
	}
	return ""
}

// helperProcess is a started helper.
type helperProcess struct {
	backend string
	cmd     *exec.Cmd
	pid     int // the daemonized helper, for pasta
	closers []func()
}

func (h *helperProcess) Backend() string { return h.backend }

func (h *helperProcess) Close() error {
	if h.pid > 0 {
		stop(h.pid)
	}
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
		h.cmd = nil
	}
	for _, c := range h.closers {
		c()
	}
	h.closers = nil
	h.pid = 0
	return nil
}

// stop ends a daemonized helper (not our child): SIGTERM, then SIGKILL if
// it is still there after a second, and waits until it has exited so that
// its ports are free when Close returns. It waits on a pidfd, which is
// ready once the process has exited: nobody here reaps the daemon, and a
// zombie still answers kill(pid, 0) (that cost every pasta run ~1.8 s
// until its reaper came by).
func stop(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone already (ESRCH)
	}
	defer unix.Close(fd)
	_ = unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0)
	if !exited(fd, time.Second) {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		exited(fd, time.Second)
	}
}

// exited waits up to d for the process behind pidfd fd to exit.
func exited(fd int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left < 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
