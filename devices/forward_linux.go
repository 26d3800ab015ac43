package devices

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/host"
	"sandbox/mounts"
	"sandbox/profiles"
)

// ForwardDir is where forwarded sockets and the X11 cookie appear inside:
// fixed paths, so that scripts and the variables set for them agree.
const ForwardDir = "/run/sandbox"

// ForwardError is a [forward] key whose socket cannot be passed in.
type ForwardError struct {
	Key  string // the profile key: ssh_agent, x11...
	Path string // the host socket, if known
	Err  error
	Fix  string
}

func (e *ForwardError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("forward.%s: %v", e.Key, e.Err)
	}
	return fmt.Sprintf("forward.%s: socket %s: %v", e.Key, e.Path, e.Err)
}
func (e *ForwardError) Unwrap() error { return e.Err }

// Hint says what to do.
func (e *ForwardError) Hint() string {
	var nt *mounts.NodeTypeError
	switch {
	case e.Fix != "":
		return e.Fix
	case errors.Is(e.Err, unix.ELOOP), errors.As(e.Err, &nt) && nt.Got == unix.S_IFLNK:
		return "a forwarded socket is never reached through a symlink: point the variable at the socket's real path"
	case errors.Is(e.Err, unix.ENOENT):
		return "is the server or agent running in this session? Or remove forward." + e.Key + " from the profile"
	}
	return "remove forward." + e.Key + " from the profile if it is not needed"
}

// addForwards binds the sockets the [forward] table asks for, each at a
// fixed place inside, and sets the variables clients look for.
func (g *Grants) addForwards(f profiles.Forward, h host.Host, uid int, files string) error {
	env := func(k string) string { return getenv(h.Environ, k) }
	runtime := env("XDG_RUNTIME_DIR")
	inRuntime := func(key, name string) (string, error) {
		if filepath.IsAbs(name) {
			return name, nil
		}
		if runtime == "" {
			return "", &ForwardError{Key: key, Err: errors.New("XDG_RUNTIME_DIR is not set, so the socket cannot be found"), Fix: "run from a desktop or login session, which sets XDG_RUNTIME_DIR"}
		}
		return filepath.Join(runtime, name), nil
	}
	if f.SSHAgent {
		sock := env("SSH_AUTH_SOCK")
		if sock == "" {
			return &ForwardError{Key: "ssh_agent", Err: errors.New("SSH_AUTH_SOCK is not set"), Fix: "start an agent (eval $(ssh-agent); ssh-add) or remove forward.ssh_agent"}
		}
		if err := g.socket("ssh_agent", sock, ForwardDir+"/ssh-agent.sock"); err != nil {
			return err
		}
		g.setenv("SSH_AUTH_SOCK", ForwardDir+"/ssh-agent.sock")
	}
	if f.GPGAgent {
		if err := g.gpgAgent(h, runtime, uid); err != nil {
			return err
		}
	}
	if f.X11 {
		if err := g.x11(h, files); err != nil {
			return err
		}
	}
	if f.Wayland {
		name := env("WAYLAND_DISPLAY")
		if name == "" {
			name = "wayland-0"
		}
		sock, err := inRuntime("wayland", name)
		if err != nil {
			return err
		}
		if err := g.socket("wayland", sock, ForwardDir+"/wayland-0"); err != nil {
			return err
		}
		g.setenv("WAYLAND_DISPLAY", ForwardDir+"/wayland-0")
	}
	if f.PulseAudio {
		sock, ok := strings.CutPrefix(env("PULSE_SERVER"), "unix:")
		if !ok || !filepath.IsAbs(sock) {
			var err error
			if sock, err = inRuntime("pulseaudio", "pulse/native"); err != nil {
				return err
			}
		}
		if err := g.socket("pulseaudio", sock, ForwardDir+"/pulse/native"); err != nil {
			return err
		}
		g.setenv("PULSE_SERVER", "unix:"+ForwardDir+"/pulse/native")
	}
	if f.PipeWire {
		name := env("PIPEWIRE_REMOTE")
		if name == "" {
			name = "pipewire-0"
		}
		sock, err := inRuntime("pipewire", name)
		if err != nil {
			return err
		}
		if err := g.socket("pipewire", sock, ForwardDir+"/pipewire-0"); err != nil {
			return err
		}
		g.setenv("PIPEWIRE_RUNTIME_DIR", ForwardDir)
		g.setenv("PIPEWIRE_REMOTE", "pipewire-0")
	}
	return nil
}

// socket checks the host socket src, opened without following a symlink
// as init will open it, and binds it at target.
func (g *Grants) socket(key, src, target string) error {
	src = filepath.Clean(src)
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &ForwardError{Key: key, Path: src, Err: err}
	}
	defer unix.Close(root)
	fd, err := mounts.OpenNode(root, src, unix.S_IFSOCK)
	if err != nil {
		return &ForwardError{Key: key, Path: src, Err: err}
	}
	unix.Close(fd)
	g.Mounts = append(g.Mounts, mounts.Op{Kind: mounts.Socket, Source: src, Target: target})
	return nil
}

// gpgAgent binds the agent's socket where gpg inside looks for it: the
// standard socket directory /run/user/UID/gnupg, on tmpfs mounts of mode
// 0700 because gpg ignores a directory others can read. The host's socket
// is where gpgconf says (it depends on GNUPGHOME), else the default place.
func (g *Grants) gpgAgent(h host.Host, runtime string, uid int) error {
	var sock string
	if out, err := exec.Command("gpgconf", "--list-dirs", "agent-socket").Output(); err == nil {
		sock = strings.TrimSpace(string(out))
	} else if runtime != "" {
		sock = filepath.Join(runtime, "gnupg", "S.gpg-agent")
	} else {
		sock = filepath.Join(h.Home, ".gnupg", "S.gpg-agent")
	}
	if _, err := os.Lstat(sock); err != nil {
		return &ForwardError{Key: "gpg_agent", Path: sock, Err: err, Fix: "start the agent (gpgconf --launch gpg-agent) or remove forward.gpg_agent"}
	}
	dir := "/run/user/" + strconv.Itoa(uid)
	g.Mounts = append(g.Mounts,
		mounts.Op{Kind: mounts.Tmpfs, Target: dir, Data: "mode=700,size=64k"},
		mounts.Op{Kind: mounts.Tmpfs, Target: dir + "/gnupg", Data: "mode=700,size=64k"})
	return g.socket("gpg_agent", sock, dir+"/gnupg/S.gpg-agent")
}

// x11 binds the socket of the local display $DISPLAY (the abstract one is
// out of reach in the sandbox's own network namespace) under a tmpfs on
// /tmp/.X11-unix that hides every other display, and gives the sandbox a
// cookie for that display only.
func (g *Grants) x11(h host.Host, files string) error {
	display := getenv(h.Environ, "DISPLAY")
	num, err := displayNumber(display)
	if err != nil {
		return &ForwardError{Key: "x11", Err: err, Fix: "forward.x11 passes a local display (DISPLAY=:0); for a remote one use ssh -X on the host"}
	}
	sock := "/tmp/.X11-unix/X" + num
	g.Mounts = append(g.Mounts, mounts.Op{Kind: mounts.Tmpfs, Target: "/tmp/.X11-unix", Data: "mode=1777,size=64k"})
	if err := g.socket("x11", sock, sock); err != nil {
		return err
	}
	g.setenv("DISPLAY", ":"+num)
	auth := getenv(h.Environ, "XAUTHORITY")
	if auth == "" {
		auth = filepath.Join(h.Home, ".Xauthority")
	}
	data, err := os.ReadFile(auth)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a server without cookies (xhost): nothing to pass
	}
	if err != nil {
		return &ForwardError{Key: "x11", Path: auth, Err: err}
	}
	cookie, err := displayCookie(data, num, hostName())
	if err != nil {
		return &ForwardError{Key: "x11", Path: auth, Err: err}
	}
	if cookie == nil {
		return nil
	}
	if files == "" {
		return errors.New("no directory for the sandbox's generated files (Options.Files)")
	}
	file := filepath.Join(files, "Xauthority")
	if err := os.WriteFile(file, cookie, 0o600); err != nil {
		return fmt.Errorf("writing the X11 cookie: %w", err)
	}
	g.Mounts = append(g.Mounts, mounts.Op{Kind: mounts.Bind, Source: file, Target: ForwardDir + "/Xauthority", ReadOnly: true})
	g.setenv("XAUTHORITY", ForwardDir+"/Xauthority")
	return nil
}

func hostName() string {
	n, _ := os.Hostname()
	return n
}

// getenv is the last value of key in env, as the C library reads it.
func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v
		}
	}
	return ""
}
