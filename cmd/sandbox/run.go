package main

import (
	"os"

	"github.com/spf13/cobra"

	"sandbox/console"
	"sandbox/profiles"
	"sandbox/sandbox"
)

// profileOptions are the flags that select and override a profile; run,
// shell and profile show share them.
type profileOptions struct {
	file      string
	overrides profiles.Overrides
}

func (o *profileOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.file, "profile", "p", "", "profile file (default: the nearest sandbox.toml up from here, else the built-in one)")
	f.StringArrayVarP(&o.overrides.Env, "env", "e", nil, "set `KEY=VALUE` inside (repeatable)")
	f.StringArrayVarP(&o.overrides.Mounts, "mount", "v", nil, "bind `SRC:DST[:ro]` or tmpfs:DST (repeatable)")
	f.StringVarP(&o.overrides.Workdir, "workdir", "w", "", "working directory, relative to the project root")
	f.StringVarP(&o.overrides.User, "user", "u", "", `"self" (your uid) or "root" (uid 0 inside)`)
	f.StringVar(&o.overrides.Hostname, "hostname", "", "hostname inside")
}

// load resolves the profile: built-in defaults < profile file < flags.
func (o *profileOptions) load() (*profiles.Profile, profiles.Source, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, profiles.Source{}, err
	}
	p, src, err := profiles.Open(cwd, o.file)
	if err != nil {
		return nil, src, err
	}
	return p, src, p.Apply(o.overrides)
}

type runOptions struct {
	profileOptions
	ephemeral bool
	tty       bool
	noTTY     bool
	args      []string
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
  sandbox run -e GOFLAGS=-race -- go test ./...
  sandbox run -- --profile      # runs a command named --profile`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.args = args
			return o.run(o.tty || (!o.noTTY && console.IsTerminal(0) && console.IsTerminal(1)))
		},
	}
	cmd.Flags().SetInterspersed(false)
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.ephemeral, "ephemeral", false, "use a throwaway home instead of the project's persistent one")
	cmd.Flags().BoolVarP(&o.tty, "tty", "t", false, "give the command a PTY even when not on a terminal")
	cmd.Flags().BoolVarP(&o.noTTY, "no-tty", "T", false, "use pipes even on a terminal")
	cmd.MarkFlagsMutuallyExclusive("tty", "no-tty")
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
			return o.run(true)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.ephemeral, "ephemeral", false, "use a throwaway home instead of the project's persistent one")
	return cmd
}

func (o *runOptions) run(terminal bool) error {
	p, src, err := o.load()
	if err != nil {
		return err
	}
	cwd, _ := os.Getwd()
	code, err := sandbox.Session{
		Profile: p, Project: src.Project, Args: o.args, Terminal: terminal,
		Ephemeral: o.ephemeral, Cwd: cwd,
	}.Run()
	if err != nil {
		return err
	}
	if code != 0 {
		return &sandbox.ExitError{Code: code}
	}
	return nil
}
