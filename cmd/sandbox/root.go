package main

import (
	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd() *cobra.Command {
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
	root.AddCommand(
		newRunCmd(),
		newShellCmd(),
		newDoctorCmd(),
		newInitCmd(),
		newProfileCmd(),
		newTrustCmd(),
		newPsCmd(),
		newHomesCmd(),
		newLogsCmd(),
		newExecCmd(),
		newStopCmd(),
		newRmCmd(),
		newPullCmd(),
		newImagesCmd(),
		newRmiCmd(),
		newPruneCmd(),
		newFsckCmd(),
		newLockCmd(),
		newResetCmd(),
		newDiffCmd(),
		newCommitCmd(),
		newHistoryCmd(),
		newRollbackCmd(),
		newTagCmd(),
		newPushCmd(),
		newBuildCmd(),
		newApplyCmd(),
		newDiscardCmd(),
		newVersionCmd(),
	)
	return root
}
