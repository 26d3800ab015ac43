package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"sandbox/console"
	"sandbox/control"
	"sandbox/runs"
	"sandbox/sandbox"
)

type execOptions struct {
	tty, noTTY bool
	user       string
	workdir    string
	env        []string
}

func newExecCmd() *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [flags] ID|NAME [--] COMMAND [ARG...]",
		Short: "Run a command in a running sandbox",
		Long: `Run a command inside a running sandbox: its namespaces, root, mounts,
environment, limits and confinement, as a child of the sandbox's init (so
it shows in ps inside and ends with the sandbox). A PTY when on a terminal.

Exit status: the command's own; 128+N when it is killed by signal N; 126
when it cannot be executed; 127 when it is not found; 125 when the run
cannot be reached.`,
		Example: `  sandbox exec web -- ps -ef
  sandbox exec -u root 3f2a -- apt-get install -y curl`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			cmdArgs := args[1:]
			if cmdArgs[0] == "--" { // flags stop at ID|NAME, so "--" is still there
				cmdArgs = cmdArgs[1:]
			}
			if len(cmdArgs) == 0 {
				return &usageError{err: errors.New("exec needs a command"), cmd: "sandbox exec"}
			}
			return o.run(args[0], cmdArgs)
		},
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVarP(&o.tty, "tty", "t", false, "give the command a PTY even when not on a terminal")
	f.BoolVarP(&o.noTTY, "no-tty", "T", false, "use pipes even on a terminal")
	f.StringVarP(&o.user, "user", "u", "", `"self" (your uid) or "root" (uid 0 inside); default: the run's`)
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside (relative: to the run's)")
	repeatedVar(f, &o.env, "env", "e", "set `KEY=VALUE` inside (repeatable)")
	cmd.MarkFlagsMutuallyExclusive("tty", "no-tty")
	return cmd
}

func (o *execOptions) run(ref string, args []string) error {
	if o.user != "" && o.user != "self" && o.user != "root" {
		return &usageError{err: fmt.Errorf("--user %q: want self or root", o.user), cmd: "sandbox exec"}
	}
	for _, kv := range o.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return &usageError{err: fmt.Errorf("--env %q: want KEY=VALUE", kv), cmd: "sandbox exec"}
		}
	}
	r, err := runs.Lookup(ref)
	if err != nil {
		return err
	}
	terminal := o.tty || (!o.noTTY && console.IsTerminal(0) && console.IsTerminal(1))
	return execIn(r, control.ExecRequest{Args: args, Env: o.env, Cwd: o.workdir, User: o.user, Terminal: terminal})
}

func execIn(r runs.Status, req control.ExecRequest) error {
	ws, err := control.Exec(control.ExecOptions{Run: r, Request: req})
	if err != nil {
		return err
	}
	if code := sandbox.ExitStatus(ws); code != 0 {
		return &sandbox.ExitError{Code: code}
	}
	return nil
}

// runningFor finds the live run of project that `shell` joins: not an
// ephemeral one (its changes are thrown away), the oldest.
func runningFor(project string) (runs.Status, bool) {
	all, err := runs.ListAll()
	if err != nil {
		return runs.Status{}, false
	}
	for _, r := range all {
		if r.Running() && r.Project == project && !r.Ephemeral {
			return r, true
		}
	}
	return runs.Status{}, false
}

// joinShell opens the run's shell in it.
func joinShell(r runs.Status) error {
	fmt.Fprintf(os.Stderr, "sandbox: joining the running sandbox %s (%s)\n", r.ID, strings.Join(r.Args, " "))
	shell := r.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	return execIn(r, control.ExecRequest{Args: []string{shell}, Terminal: true})
}
