package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"sandbox/profiles"
)

func newProfileCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Show or check sandbox profiles",
	}
	cmd.AddCommand(newProfileShowCmd(), newProfileCheckCmd())
	return cmd
}

func newProfileShowCmd() *cobra.Command {
	o := &profileOptions{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show [flags]",
		Short: "Print the resolved profile: built-in defaults, then the profile file, then flags",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, src, err := o.load()
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Source   string            `json:"source"`
					Project  string            `json:"project"`
					Warnings []string          `json:"warnings,omitempty"`
					Grants   []string          `json:"grants,omitempty"`
					Profile  *profiles.Profile `json:"profile"`
				}{sourceName(src), src.Project, p.Warnings(), p.DeviceGrants(), p})
			}
			fmt.Fprintf(out, "# source: %s\n# project: %s\n", sourceName(src), src.Project)
			for _, w := range p.Warnings() {
				fmt.Fprintf(out, "# warning: %s\n", w)
			}
			for _, g := range p.DeviceGrants() {
				fmt.Fprintf(out, "# grant: %s\n", g)
			}
			return toml.NewEncoder(out).Encode(p)
		},
	}
	o.addFlags(cmd)
	o.addLimitFlags(cmd)
	o.addDeviceFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func sourceName(src profiles.Source) string {
	if src.Path == "" {
		return "built-in default"
	}
	return src.Path
}

func newProfileCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a profile; errors are printed as FILE:LINE:COL: message",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			file := ""
			if len(args) == 1 {
				file = args[0]
			} else {
				cwd, err := os.Getwd()
				if err != nil {
					return err
				}
				if file, err = profiles.Find(cwd); err != nil {
					return &profiles.Error{Msg: err.Error(), Suggest: "run sandbox init to write one, or name a file"}
				}
			}
			if _, err := profiles.Load(file); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: ok\n", file)
			return nil
		},
	}
}
