package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"sandbox/console"
	"sandbox/imagestore"
	"sandbox/profiles"
	"sandbox/sandbox"
	"sandbox/session"
)

// profileOptions are the flags that select and override a profile; run,
// shell and profile show share them.
type profileOptions struct {
	file      string
	project   string // --project: the project root, instead of where the profile is
	overrides profiles.Overrides
	// grants are what the profile file grants (flags grant nothing: they
	// are the user's own choice); load sets them.
	grants []profiles.Grant
}

func (o *profileOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.file, "profile", "f", "", "profile file (default: the nearest sandbox.toml up from here, else the built-in one)")
	f.StringVar(&o.project, "project", "", "the project root (default: the nearest directory up from here with a sandbox.toml, else this one)")
	repeatedVar(f, &o.overrides.Env, "env", "e", "set `KEY=VALUE` inside (repeatable)")
	repeatedVar(f, &o.overrides.Mounts, "mount", "v", "bind `SRC:DST[:ro]` or tmpfs:DST (repeatable)")
	f.StringVarP(&o.overrides.Workdir, "workdir", "w", "", "working directory, relative to the project root")
	f.StringVarP(&o.overrides.User, "user", "u", "", `"self" (your uid) or "root" (uid 0 inside)`)
	f.StringVar(&o.overrides.Hostname, "hostname", "", "hostname inside")
	f.StringVar(&o.overrides.Network, "network", "", `network mode: "none", "proxy", "slirp" or "host" ([network] mode)`)
	repeatedVar(f, &o.overrides.Publish, "publish", "p", "publish a port, `[IP:]HOSTPORT:PORT[/PROTO]` (repeatable; [network] ports)")
	repeatedVar(f, &o.overrides.Allow, "allow", "", "let the proxy reach `HOST` (repeatable; [network] allow; mode none becomes proxy)")
}

// load resolves the profile: built-in defaults < profile file < flags.
func (o *profileOptions) load() (*profiles.Profile, profiles.Source, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, profiles.Source{}, err
	}
	p, src, err := o.open(cwd)
	if err != nil {
		return nil, src, err
	}
	o.grants = p.Grants(grantHost(src.Project))
	return p, src, p.Apply(o.overrides)
}

// open finds the profile: --profile, else the nearest sandbox.toml; with
// --project DIR, the project is DIR and only its own sandbox.toml counts.
func (o *profileOptions) open(cwd string) (*profiles.Profile, profiles.Source, error) {
	if o.project == "" {
		return profiles.Open(cwd, o.file)
	}
	dir, err := filepath.Abs(o.project)
	if err != nil {
		return nil, profiles.Source{}, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, profiles.Source{}, &usageError{err: fmt.Errorf("--project %s is not a directory", o.project), cmd: "sandbox run"}
	}
	file := o.file
	if _, err := os.Stat(filepath.Join(dir, profiles.FileName)); file == "" && err == nil {
		file = filepath.Join(dir, profiles.FileName)
	}
	if file == "" {
		return profiles.Defaults(), profiles.Source{Project: dir}, nil
	}
	p, src, err := profiles.Open(dir, file)
	src.Project = dir
	return p, src, err
}

type runOptions struct {
	profileOptions
	shell     bool
	tlsVerify bool
	ephemeral bool
	tty       bool
	noTTY     bool
	json      bool
	locked    bool
	args      []string
	life      lifecycleOptions
}

// addLimitFlags adds the flags that override [limits].
func (o *profileOptions) addLimitFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.overrides.Memory, "memory", "", "memory limit, e.g. 2GiB (memory.max)")
	f.Float64Var(&o.overrides.CPUs, "cpus", 0, "CPU limit in CPUs, e.g. 1.5 (cpu.max)")
	f.IntVar(&o.overrides.Pids, "pids", 0, "process limit (pids.max)")
	f.StringVar(&o.overrides.Timeout, "timeout", "", "wall-clock limit, e.g. 30m: SIGTERM, then SIGKILL after 10s; exit status 124")
}

const precedence = `
Settings come from the built-in default profile, then the profile file
(--profile, or the nearest sandbox.toml in this directory or a parent), then
these flags: each wins over the one before.

Exit status: the command's own; 128+N when it is killed by signal N; 125 when
the sandbox cannot be set up (bad profile, bad flag, host problem); 126 when
the command cannot be executed; 127 when it is not found.`

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [flags] [--] COMMAND [ARG...]",
		Short: "Run a command in the project's sandbox",
		Long:  "Run a command in the project's sandbox, streaming its output and returning its exit status.\n" + precedence,
		Example: `  sandbox run -- go test ./...
  sandbox run --allow proxy.example.org -- go mod download
  sandbox run --network slirp -p 127.0.0.1:8000:8000 -- python3 -m http.server
  sandbox run -e GOFLAGS=-race -- go test ./...
  sandbox run -- --profile      # runs a command named --profile`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.args = args
			return o.run(o.tty || (!o.noTTY && console.IsTerminal(0) && console.IsTerminal(1)))
		},
	}
	cmd.Flags().SetInterspersed(false)
	o.addFlags(cmd)
	o.addImageFlags(cmd)
	cmd.Flags().BoolVar(&o.ephemeral, "ephemeral", false, "use a throwaway home and image layer instead of the project's persistent ones")
	cmd.Flags().BoolVarP(&o.tty, "tty", "t", false, "give the command a PTY even when not on a terminal")
	cmd.Flags().BoolVarP(&o.noTTY, "no-tty", "T", false, "use pipes even on a terminal")
	o.addLockedFlag(cmd)
	cmd.Flags().BoolVar(&o.json, "json", false, "print a JSON summary (exit code, duration, peak memory, CPU time, the profile's grants) on stderr at the end")
	o.addLimitFlags(cmd)
	o.addDeviceFlags(cmd)
	o.life.addFlags(cmd)
	cmd.MarkFlagsMutuallyExclusive("tty", "no-tty")
	cmd.MarkFlagsMutuallyExclusive("detach", "tty")
	return cmd
}

func newShellCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "shell [flags]",
		Short: "Open an interactive shell in the project's sandbox",
		Long:  "Open an interactive shell (the profile's shell, else $SHELL, else /bin/sh) on a fresh PTY.\n" + precedence,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.shell = true
			return o.run(true)
		},
	}
	o.addFlags(cmd)
	o.addImageFlags(cmd)
	o.addLimitFlags(cmd)
	o.addLockedFlag(cmd)
	o.addDeviceFlags(cmd)
	cmd.Flags().BoolVar(&o.ephemeral, "ephemeral", false, "use a throwaway home and image layer instead of the project's persistent ones")
	return cmd
}

// session is the sandbox session these flags ask for.
func (o *runOptions) session(p *profiles.Profile, project, file, cwd string) session.Session {
	bar := newProgressBar(os.Stderr, console.IsTerminal(2))
	return session.Session{
		Request: session.Request{Profile: p, Project: project, Ephemeral: o.ephemeral, Shell: o.shell, ProfileFile: file},
		Cwd:     cwd, ProjectNamed: o.project != "",
		Insecure: !o.tlsVerify, Locked: o.locked || lockedFromEnv(),
		Progress: func(pr imagestore.Progress) {
			bar.update(pr)
			if pr.Phase == "done" || pr.Phase == "exists" {
				bar.finishIfDone()
			}
		},
		Announce: announce,
		Warn:     func(msg string) { fmt.Fprintf(os.Stderr, "sandbox: warning: %s\n", msg) },
	}
}

// addImageFlags adds the flags that choose the image.
func (o *runOptions) addImageFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.overrides.Image, "image", "", "run on this image instead of the profile's root (pulled if missing)")
	cmd.Flags().BoolVar(&o.tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate when pulling (false: allow plain HTTP and self-signed)")
}

// addLockedFlag adds --locked (run, shell, build).
func (o *runOptions) addLockedFlag(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.locked, "locked", false, "the image and every setup step must match sandbox.lock, else stop (exit 125); also SANDBOX_LOCKED=1")
}

// lockedFromEnv: SANDBOX_LOCKED set to anything but "", 0 or false, so
// that a CI variable spelled "yes" does not silently build unlocked.
func lockedFromEnv() bool {
	v := os.Getenv("SANDBOX_LOCKED")
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

func (o *runOptions) run(terminal bool) error {
	p, src, err := o.load()
	if err != nil {
		return err
	}
	if len(o.args) == 0 && !o.shell && p.Image == "" {
		return &usageError{err: fmt.Errorf("run needs a command (or an image with one of its own)"), cmd: "sandbox run"}
	}
	if err := requireTrust(src, o.grants, os.Stdin, os.Stderr); err != nil {
		return err
	}
	// Devices a flag adds need no trust (they are the user's own), but
	// the start line names them with the profile's grants.
	shown := o.grants
	for _, g := range p.DeviceGrants() {
		if !slices.Contains(shown, g) {
			shown = append(shown, g)
		}
	}
	if len(shown) > 0 {
		fmt.Fprintln(os.Stderr, grantsLine(shown))
	}
	if done, err := o.beforeRun(src.Project, &terminal); done {
		return err
	}
	cwd, _ := os.Getwd()
	s := o.session(p, src.Project, src.Path, cwd)
	s.Args, s.Terminal = o.args, terminal
	if s.Lifecycle, err = o.life.lifecycle(); err != nil {
		return err
	}
	res, err := s.Run()
	markPlanted(src)
	if err != nil {
		return err
	}
	switch {
	case res.TimedOut:
		fmt.Fprintf(os.Stderr, "sandbox: timed out after %s\n", p.Limits.Timeout)
	case res.OOMKilled:
		fmt.Fprintf(os.Stderr, "sandbox: killed: memory limit %s exceeded\n", p.Limits.Memory)
	}
	for _, line := range networkHints(res) {
		fmt.Fprintf(os.Stderr, "sandbox: %s\n", line)
	}
	if line := deniedSummary(res.SyscallsDenied); line != "" {
		fmt.Fprintf(os.Stderr, "sandbox: seccomp: %s\n", line)
	}
	if o.json {
		summary := struct {
			*sandbox.Result
			DurationMS int64            `json:"duration_ms"`
			Grants     []profiles.Grant `json:"grants,omitempty"`
		}{res, res.Duration.Milliseconds(), o.grants}
		if err := json.NewEncoder(os.Stderr).Encode(summary); err != nil {
			return err
		}
	}
	if res.Code != 0 {
		return &sandbox.ExitError{Code: res.Code}
	}
	return nil
}

// deniedSummary is the end-of-run line for the system calls the filter
// denied: "denied bpf (1), keyctl (3)", by name.
func deniedSummary(denied map[string]int) string {
	if len(denied) == 0 {
		return ""
	}
	names := slices.Sorted(maps.Keys(denied))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s (%d)", n, denied[n])
	}
	return "denied " + strings.Join(parts, ", ") + "; [security] allow_syscalls in sandbox.toml allows them"
}
