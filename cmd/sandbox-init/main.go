// Command sandbox-init is the sandbox's init and payload stage without the
// CLI: the same code as `sandbox`'s own roles (package sandbox's init
// stages, package confine's payload stage), linked without the registry
// client, the CDI library, cobra and TLS, whose package initialisation
// every start of a sandbox would otherwise pay twice. `make build` puts it
// beside bin/sandbox and writes its build ID into the CLI, which execs it
// only when the file beside it is that very build (sandbox/initbin_linux.go);
// otherwise the CLI starts itself in these roles, as a plain `go build` does.
package main

import (
	"fmt"
	"os"

	_ "sandbox/confine" // the payload stage's role
	"sandbox/internal/reexec"
	_ "sandbox/sandbox" // init's roles
)

// The role runs on the main thread (an init function is locked to it)
// and never returns.
func init() { reexec.Init() }

func main() {
	fmt.Fprintln(os.Stderr, "sandbox-init: this is the sandbox's init, started by `sandbox run`; run `sandbox` instead")
	os.Exit(2)
}
