package main

import (
	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

// commands are the subcommands, each under the name it is called by.
var commands = []struct {
	name string
	new  func() *cobra.Command
}{
	{"run", newRunCmd}, {"shell", newShellCmd}, {"doctor", newDoctorCmd}, {"init", newInitCmd},
	{"profile", newProfileCmd}, {"trust", newTrustCmd}, {"ps", newPsCmd}, {"homes", newHomesCmd},
	{"logs", newLogsCmd}, {"exec", newExecCmd}, {"stop", newStopCmd}, {"rm", newRmCmd},
	{"pull", newPullCmd}, {"images", newImagesCmd}, {"rmi", newRmiCmd}, {"prune", newPruneCmd},
	{"fsck", newFsckCmd}, {"lock", newLockCmd}, {"reset", newResetCmd}, {"diff", newDiffCmd},
	{"commit", newCommitCmd}, {"history", newHistoryCmd}, {"rollback", newRollbackCmd}, {"tag", newTagCmd},
	{"push", newPushCmd}, {"build", newBuildCmd}, {"apply", newApplyCmd}, {"discard", newDiscardCmd},
	{"version", newVersionCmd},
}

// newRootCmd is the root with every command.
func newRootCmd() *cobra.Command { return newRootFor(nil) }

// newRootFor is the root for these arguments: when the first names a
// command, only that command is built. Building all of them with their
// flags was ~1 ms of each `sandbox run` (issue 18); a command's help and
// errors read the same either way (TestRootForOneCommandReadsTheSame).
// Anything else (help, completion, a flag, a typo to suggest for) gets
// every command.
func newRootFor(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a shell or a command in a rootless, reproducible sandbox",
		Long: `sandbox runs a shell or a command inside an isolated environment described
by the project's sandbox.toml (or the built-in default profile): its own user,
mount, pid, ipc, uts and network namespaces, the host's filesystem read-only,
the project directory writable, a private home, /tmp and /dev. No daemon, no root.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err: err, cmd: c.CommandPath()}
	})
	only := ""
	for _, c := range commands {
		if len(args) > 0 && args[0] == c.name {
			only = c.name
		}
	}
	for _, c := range commands {
		if only == "" || c.name == only {
			root.AddCommand(c.new())
		}
	}
	// cobra adds its `completion` command (four more, with flags) on
	// every Execute; a root for one other command never reaches it.
	root.CompletionOptions.DisableDefaultCmd = only != ""
	return root
}
