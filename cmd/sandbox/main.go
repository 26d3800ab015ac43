// Command sandbox runs a shell or a command in a rootless sandbox described
// by the project's sandbox.toml.
package main

import (
	"os"

	"sandbox/sandbox"
)

func main() {
	if sandbox.IsInit() {
		sandbox.Init() // never returns
	}
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI and returns the process exit code.
func run(args []string) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	return exitCode(cmd.Execute(), os.Stderr)
}
