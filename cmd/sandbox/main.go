// Command sandbox runs a shell or a command in a rootless sandbox described
// by the project's sandbox.toml.
package main

import (
	"os"

	"sandbox/internal/reexec"
	_ "sandbox/sandbox" // registers init's roles
)

// A role of this binary (the sandbox's init, the image worker...) runs
// from here and never returns: an init function runs on the main thread,
// whose name `ps` shows and to which init's parent-death signal is tied.
func init() { reexec.Init() }

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI and returns the process exit code.
func run(args []string) int {
	cmd := newRootFor(args)
	cmd.SetArgs(args)
	return exitCode(cmd.Execute(), os.Stderr)
}
