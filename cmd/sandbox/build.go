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
its parent layer, its command, user and env, and the content of its inputs:
changing one rebuilds that step and the ones after it. A failing step stops
the build with its exit status; the steps before it stay cached. With a
sandbox.lock, the built layers are recorded in it.`,
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
	return cmd
}

func announce(header string) { fmt.Fprintln(os.Stderr, header) }
