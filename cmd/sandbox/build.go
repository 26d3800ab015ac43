package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newBuildCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the profile's setup steps (each cached as a layer); run and shell do it when needed",
		Long: `Run the profile's [[setup]] steps that are not cached yet, in order, on its
image, streaming each step's output under a header. A step's cache key is
what its layer depends on: its parent layer, command, user, env, network
settings, the content of its inputs, SOURCE_DATE_EPOCH (else the image's
creation time) and the platform: changing one rebuilds that step and the
ones after it. A failing step stops
the build with its exit status; the steps before it stay cached. With a
sandbox.lock, the built layers are recorded in it.

With --locked (or SANDBOX_LOCKED=1) the lock is a contract instead: the
image and every step's cache key and layer must be the ones sandbox.lock
records, else the build stops (exit 125) naming the step, the expected and
actual digests and the first paths where the layers differ; the lock is
not rewritten.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			p, src, err := o.load()
			if err != nil {
				return err
			}
			if p.Image == "" || len(p.Setup) == 0 {
				return &usageError{err: fmt.Errorf("the profile has no image with [[setup]] steps to build"), cmd: c.CommandPath()}
			}
			// Steps run with the profile's mounts, variables and network.
			if err := requireTrust(src, o.grants, os.Stdin, os.Stderr); err != nil {
				return err
			}
			cwd, _ := os.Getwd()
			results, err := o.session(p, src.Project, src.Path, cwd).Build(announce)
			for _, r := range results {
				state := "built"
				if r.Cached {
					state = "cached"
				}
				top := r.Image.Layers[len(r.Image.Layers)-1]
				fmt.Fprintf(os.Stderr, "step %d: %s, layer %.19s (%s)\n", r.N, state, top.Digest, humanSize(top.Size))
			}
			return err
		},
	}
	o.addFlags(cmd)
	o.addImageFlags(cmd)
	o.addLockedFlag(cmd)
	return cmd
}

func announce(header string) { fmt.Fprintln(os.Stderr, header) }
