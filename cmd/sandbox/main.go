// Command sandbox runs a shell or a command in a rootless sandbox described
// by the project's sandbox.toml.
package main

import (
	"os"

	"sandbox/internal/reexec"
	_ "sandbox/sandbox" // registers init's roles
)

func main() {
	reexec.Init() // a role of this binary (the sandbox's init...) never returns
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI and returns the process exit code.
func run(args []string) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	return exitCode(cmd.Execute(), os.Stderr)
}
