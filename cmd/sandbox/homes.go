package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"sandbox/host"
	"sandbox/profiles"
	"sandbox/runs"
	"sandbox/workspace"
)

func newHomesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "homes",
		Short: "List the per-project sandbox homes and image sandboxes",
		Long: `List the per-project state under $XDG_DATA_HOME/sandbox: each project's
sandbox home (homes/) and its sandbox on an image (sandboxes/), with the
project's path, their size, their last use and whether the project still
exists. "sandbox homes rm PROJECT" and "sandbox homes prune" remove them.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			homes, err := listHomes()
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(homes)
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PROJECT\tSIZE\tLAST USE\tEXISTS\tHOME\tSANDBOX")
			for _, h := range homes {
				project := h.Project
				if project == "" {
					project = "? (" + h.ID + ")"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", project, humanSize(h.Size), h.LastUse.Format(time.DateTime), yesNo(h.Exists), yesNo(h.Home != ""), yesNo(h.Sandbox != ""))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(newHomesRmCmd(), newHomesPruneCmd())
	return cmd
}

func newHomesRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm PROJECT...",
		Short: "Remove projects' sandbox homes and image sandboxes (PROJECT: its path, or the ID homes --json shows)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			homes, err := listHomes()
			if err != nil {
				return err
			}
			for _, arg := range args {
				id := arg
				if abs, err := filepath.Abs(arg); err == nil {
					if hid := workspace.ID(abs); findHome(homes, hid) != nil {
						id = hid
					}
				}
				hi := findHome(homes, id)
				if hi == nil {
					return &profiles.Error{Msg: fmt.Sprintf("%s has no sandbox home or sandbox", arg), Suggest: "sandbox homes lists them"}
				}
				if err := removeHome(*hi); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "removed %s\n", orID(*hi))
			}
			return nil
		},
	}
}

func newHomesPruneCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove the sandbox homes and image sandboxes of projects that no longer exist",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			homes, err := listHomes()
			if err != nil {
				return err
			}
			for _, hi := range homes {
				if hi.Exists || hi.Project == "" {
					continue // a home without a record is kept: its project is unknown
				}
				if err := removeHome(hi); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "removed %s (%s)\n", hi.Project, humanSize(hi.Size))
			}
			return nil
		},
	}
}

func listHomes() ([]workspace.HomeInfo, error) {
	h, err := host.Current()
	if err != nil {
		return nil, err
	}
	return workspace.Homes(h)
}

func removeHome(hi workspace.HomeInfo) error {
	h, err := host.Current()
	if err != nil {
		return err
	}
	var running []workspace.Run
	if live, err := runs.List(); err == nil {
		for _, r := range live {
			running = append(running, workspace.Run{Project: r.Project, PID: r.PID})
		}
	}
	return workspace.RemoveHome(h, hi, running)
}

func findHome(homes []workspace.HomeInfo, id string) *workspace.HomeInfo {
	for i := range homes {
		if homes[i].ID == id {
			return &homes[i]
		}
	}
	return nil
}

func orID(hi workspace.HomeInfo) string {
	if hi.Project != "" {
		return hi.Project
	}
	return hi.ID
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
