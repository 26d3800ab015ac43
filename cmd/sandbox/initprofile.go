package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"sandbox/host"
	"sandbox/profiles"
	"sandbox/runs"
	"sandbox/workspace"
)

const initHeader = `# sandbox.toml: this project's sandbox, read by "sandbox shell" and "sandbox run".
# Check it with "sandbox profile check"; see the resolved result with
# "sandbox profile show". Every key is optional: what is left out comes from
# the built-in default shown below.
#
# Extra mounts, for example a shared Go build cache:
# [[mount]]
# source = "~/.cache/go-build"   # host path (~ and $VARS expanded)
# target = "~/.cache/go-build"   # inside; ~ is the sandbox home
# mode = "rw"                    # "ro" | "rw"
# type = "bind"                  # "bind" | "tmpfs"
# A host path outside the project is a grant: the profile then runs only
# after "sandbox trust" (see "sandbox trust --help").

`

// imageProfile turns the default profile into one on image: image instead
// of base, and user and workdir left to the image.
func imageProfile(def []byte, image string) []byte {
	s := strings.Replace(string(def), `base = "host"`, fmt.Sprintf("image = %q\n# insecure_registries = [\"localhost:5000\"]   # plain-HTTP registries", image), 1)
	s = strings.Replace(s, `user = "self"`, `# user = "self"     # unset: the image's user`, 1)
	s = strings.Replace(s, `workdir = "."`, `# workdir = "."     # unset: the image's working directory`, 1)
	return []byte(s)
}

func newInitCmd() *cobra.Command {
	var force bool
	var image string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented sandbox.toml for the project in this directory",
		Long: `Write a commented sandbox.toml for the project in this directory.

A go.mod, package.json, pyproject.toml or requirements*.txt, or Cargo.toml
makes it a profile for that ecosystem: network mode proxy allowing exactly
the registry hosts the ecosystem is configured to use on this machine (read
from go env, npm config, pip's configuration, ~/.cargo/config.toml), that
configuration in [env], and the ecosystem's download cache shared.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			// A profile in the home (or /, /tmp) would make it a project.
			// Init here names this directory as --project does: runs
			// in a dot-directory of the home still need --project.
			if host, err := host.Current(); err == nil {
				runDir, _ := runs.RuntimeDir()
				if err := workspace.CheckProject(cwd, host, workspace.ProjectCheck{RunDir: runDir, Named: true}); err != nil {
					return err
				}
			}
			path := filepath.Join(cwd, profiles.FileName)
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(path, flags, 0o644)
			if errors.Is(err, os.ErrExist) {
				return &profiles.Error{File: path, Msg: "already exists", Suggest: "edit it, or use --force to overwrite it with the default"}
			}
			if err != nil {
				return err
			}
			defer f.Close()
			def := profiles.DefaultTOML()
			if image != "" {
				def = imageProfile(def, image)
			}
			presets := detectPresets(cwd, runTool(cwd))
			def = []byte(applyPresets(string(def), presets))
			body := append([]byte(initHeader), def...)
			if _, err := f.Write(body); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s\n", path)
			for _, p := range presets {
				fmt.Fprintf(c.OutOrStdout(), "%s: network mode proxy allowing %s (from %s); shared %s download cache\n", p.found, orNone(p.hosts), p.from, p.name)
			}
			return f.Close()
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing sandbox.toml")
	cmd.Flags().StringVar(&image, "image", "", "a profile on this OCI image instead of the host's filesystem")
	return cmd
}
