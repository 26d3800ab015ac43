package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/profiles"
	"sandbox/session"
	"sandbox/workspace"
)

// withSandbox loads the profile and the host, and runs fn on the image store.
func withSandbox(o *profileOptions, fn func(h host.Host, s *sandboxContext) error) error {
	p, src, err := o.load()
	if err != nil {
		return err
	}
	h, err := host.Current()
	if err != nil {
		return err
	}
	return withImages(func(imgs *imageworker.Images) error {
		return fn(h, &sandboxContext{imgs: imgs, project: src.Project, profile: p})
	})
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newDiffCmd() *cobra.Command {
	var o profileOptions
	var asJSON, project bool
	cmd := &cobra.Command{
		Use:   "diff [--json]",
		Short: "List the sandbox's uncommitted changes to its image: A added, C changed, D deleted",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSandbox(&o, func(h host.Host, s *sandboxContext) error {
				var changes []imagestore.Change
				var err error
				if project {
					changes, err = workspace.ProjectChanges(s.imgs, h, s.project, workspace.ProtectedPatterns(s.profile, s.project))
				} else {
					changes, err = workspace.Changes(s.imgs, h, s.profile, s.project)
				}
				if err != nil {
					return err
				}
				if asJSON {
					if changes == nil {
						changes = []imagestore.Change{}
					}
					return printJSON(changes)
				}
				for _, ch := range changes {
					mark := ""
					if ch.Protected {
						mark = "  (protected: apply will not write it)"
					}
					fmt.Printf("%s %s%s\n", ch.Kind, ch.Path, mark)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&project, "project", false, "the sandbox's pending changes to the project (project = \"overlay\")")
	return cmd
}

func newApplyCmd() *cobra.Command {
	var o profileOptions
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Write the sandbox's pending project changes to the project (project = \"overlay\")",
		Long: `Write what the sandbox changed in the project (see sandbox diff --project) to
the real project directory, then clear it from the sandbox. Files the host
changed since the sandbox started from them are conflicts: then nothing is
written. Every file is written to a temporary beside it and renamed, and no
path is followed through a symlink.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSandbox(&o, func(h host.Host, s *sandboxContext) error {
				applied, err := workspace.ApplyProject(s.imgs, h, s.project, workspace.ProtectedPatterns(s.profile, s.project))
				for _, ch := range applied {
					fmt.Printf("%s %s\n", ch.Kind, ch.Path)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file")
	return cmd
}

func newDiscardCmd() *cobra.Command {
	var o profileOptions
	cmd := &cobra.Command{
		Use:   "discard",
		Short: "Drop the sandbox's pending project changes (project = \"overlay\")",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSandbox(&o, func(h host.Host, s *sandboxContext) error {
				return workspace.DiscardProject(s.imgs, h, s.project)
			})
		},
	}
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file")
	return cmd
}

func newCommitCmd() *cobra.Command {
	var o profileOptions
	var co workspace.CommitOptions
	cmd := &cobra.Command{
		Use:   "commit [-m MSG] [--tag NAME]",
		Short: "Make the sandbox's changes a new layer; the sandbox then stands on it",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSandbox(&o, func(h host.Host, s *sandboxContext) error {
				img, err := workspace.Commit(s.imgs, h, s.profile, s.project, co)
				if err != nil {
					return err
				}
				top := img.Layers[len(img.Layers)-1]
				fmt.Fprintf(os.Stderr, "committed %s: layer %.19s (%s)\n", img.Ref, top.Digest, humanSize(top.Size))
				fmt.Println(img.Digest)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file")
	cmd.Flags().StringVarP(&co.Message, "message", "m", "", "the commit message, kept in the image's history")
	cmd.Flags().StringVar(&co.Tag, "tag", "", "also name the new image, e.g. localhost:5000/me/tools:1")
	return cmd
}

func newHistoryCmd() *cobra.Command {
	var o profileOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history [--json]",
		Short: "Show how the sandbox's image was built, layer by layer",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSandbox(&o, func(h host.Host, s *sandboxContext) error {
				img, err := workspace.History(s.imgs, h, s.project)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(img.History)
				}
				tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LAYER\tCREATED\tSIZE\tCREATED BY\tCOMMENT")
				for k := len(img.History) - 1; k >= 0; k-- {
					st := img.History[k]
					layer := "-"
					if st.Layer != "" {
						layer = fmt.Sprintf("%.19s", st.Layer)
					}
					created := "-"
					if !st.Created.IsZero() {
						created = st.Created.Local().Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%.60s\t%s\n", layer, created, humanSize(st.Size), st.CreatedBy, st.Comment)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRollbackCmd() *cobra.Command {
	var o profileOptions
	cmd := &cobra.Command{
		Use:   "rollback [REV]",
		Short: "Discard uncommitted changes; with REV, go back to that commit",
		Long: `Discard the sandbox's uncommitted changes. With REV, also go back to that
commit: its number (1 is the first; see sandbox history), a digest prefix,
its name, or "base" for the profile's image.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rev := ""
			if len(args) == 1 {
				rev = args[0]
			}
			return withSandbox(&o, func(h host.Host, s *sandboxContext) error {
				head, err := workspace.Rollback(s.imgs, h, s.project, rev)
				if err == nil {
					fmt.Fprintf(os.Stderr, "the sandbox stands on %.19s, with no uncommitted changes\n", head)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file")
	return cmd
}

func newTagCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tag SRC DST",
		Short: "Give a stored image another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return withImages(func(imgs *imageworker.Images) error { return imgs.Tag(args[0], args[1]) })
		},
	}
}

func newPushCmd() *cobra.Command {
	var o profileOptions
	var tlsVerify bool
	cmd := &cobra.Command{
		Use:   "push [--tls-verify=false] REF",
		Short: "Push a stored image to the registry its name says; only missing blobs are sent",
		Long: `Push a stored image to the registry its name says; only the blobs the
registry lacks are sent. With no image of that name in the store, the
project's sandbox's current commit is named REF and pushed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withSandbox(&o, func(h host.Host, s *sandboxContext) error {
				img, head, err := workspace.PushOrHead(context.Background(), s.imgs, h, s.project, args[0], imagestore.PushOptions{Insecure: session.Insecure(s.profile, args[0], !tlsVerify)})
				if head != "" {
					fmt.Fprintf(os.Stderr, "%s was not in the store: named the sandbox's current commit %.19s so\n", args[0], head)
				}
				if err == nil {
					fmt.Fprintf(os.Stderr, "pushed %s\n", img.Ref)
					fmt.Println(img.Digest)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate (false: allow plain HTTP and self-signed; also for registries in the profile's insecure_registries)")
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file")
	return cmd
}

type sandboxContext struct {
	imgs    *imageworker.Images
	project string
	profile *profiles.Profile
}
