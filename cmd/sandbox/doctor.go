package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"sandbox/doctor"
)

func newDoctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what this host offers, and print the fix for what it lacks",
		Long: `Check what this host offers a rootless sandbox, one line per check, with the
exact command that fixes each problem. Exits 0 when "sandbox run" can work;
warnings mark degraded modes or what later features (images, networking,
resource limits) need.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			checks := doctor.Run()
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(checks); err != nil {
					return err
				}
			}
			failed := 0
			for _, ch := range checks {
				if ch.Status == "fail" {
					failed++
				}
				if asJSON {
					continue
				}
				fmt.Fprintf(out, "%-4s  %-10s %s\n", ch.Status, ch.Name, ch.Detail)
				if ch.Fix != "" {
					fmt.Fprintf(out, "      %-10s fix: %s\n", "", ch.Fix)
				}
			}
			if failed > 0 {
				return errors.New("this host cannot run sandboxes yet: apply the fixes above")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
