package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"sandbox/runs"
)

func newPsCmd() *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List your running sandboxes (with -a, the kept records of ended ones)",
		Long: `List your running sandboxes: id, name, project, command, start, status and
forwarded ports. With -a, also the ended runs whose record is kept (detached,
named or --log runs) until sandbox rm.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			known, err := runs.ListAll()
			if err != nil {
				return err
			}
			shown := []runs.Status{}
			for _, r := range known {
				if all || r.Running() {
					shown = append(shown, r)
				}
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(shown)
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tPID\tSTARTED\tSTATUS\tPORTS\tPROJECT\tCOMMAND")
			for _, r := range shown {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, orDash(r.Name), r.PID, r.Started.Format(time.DateTime),
					status(r), orDash(strings.Join(r.Ports, ",")), r.Project, strings.Join(r.Args, " "))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "also the ended runs that are kept")
	return cmd
}

func status(r runs.Status) string {
	switch {
	case r.Running():
		return "running " + time.Since(r.Started).Round(time.Second).String()
	case r.Exit != nil:
		s := fmt.Sprintf("exited (%d) after %s", r.Exit.Code, (time.Duration(r.Exit.DurationMS) * time.Millisecond).Round(time.Millisecond))
		if r.Exit.Stopped {
			s += ", stopped"
		}
		return s
	}
	return "lost (its sandbox process was killed)"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
