package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"sandbox/confine"
	"sandbox/imagestore"
	"sandbox/imageworker"
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
			p, notes := asRun(p)
			out := c.OutOrStdout()
			sec := confine.Security(p.Security, string(p.User), string(p.Network.Mode))
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Source   string                 `json:"source"`
					Project  string                 `json:"project"`
					Warnings []string               `json:"warnings,omitempty"`
					Grants   []profiles.Grant       `json:"grants,omitempty"`
					Security confine.SecurityReport `json:"applies"`
					Profile  *profiles.Profile      `json:"profile"`
				}{sourceName(src), src.Project, p.Warnings(), o.grants, sec, p})
			}
			fmt.Fprintf(out, "# source: %s\n# project: %s\n", sourceName(src), src.Project)
			if fl := changedFlags(c); fl != "" {
				fmt.Fprintf(out, "# flags: %s\n", fl)
			}
			for _, n := range notes {
				fmt.Fprintf(out, "# %s\n", n)
			}
			for _, w := range p.Warnings() {
				fmt.Fprintf(out, "# warning: %s\n", w)
			}
			for _, g := range o.grants {
				fmt.Fprintf(out, "# grants: %s\n", g)
			}
			for _, l := range sec.Lines() {
				fmt.Fprintf(out, "# %s\n", l)
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

// asRun is the profile as a run uses it. On an image the base is the
// image, and a user or workdir the profile leaves unset is the image's:
// its config's, when the image is in the store (show does not pull).
func asRun(p *profiles.Profile) (*profiles.Profile, []string) {
	if p.Image == "" {
		return p, nil
	}
	shown := *p
	shown.Base = "image"
	notes := []string{"base: the image " + p.Image + ", not the host"}
	var cfg *imagestore.Image
	_ = withImages(func(imgs *imageworker.Images) (err error) { cfg, err = imgs.Get(p.Image); return err })
	if !p.IsSet("user") {
		switch {
		case cfg == nil:
			shown.User = "image"
			notes = append(notes, "user: the image's (not in the store yet: sandbox pull "+p.Image+")")
		case cfg.Config.User == "":
			shown.User = "root"
			notes = append(notes, "user: the image's, which names none: root")
		default:
			shown.User = profiles.UserMode(cfg.Config.User)
			notes = append(notes, "user: the image's")
		}
	}
	if !p.IsSet("workdir") && cfg != nil && cfg.Config.WorkingDir != "" {
		shown.Workdir = cfg.Config.WorkingDir
		notes = append(notes, "workdir: the image's")
	}
	return &shown, notes
}

// changedFlags renders the flags given, which the printed profile
// includes, as they were written.
func changedFlags(c *cobra.Command) string {
	var parts []string
	c.Flags().Visit(func(f *pflag.Flag) {
		if f.Name == "json" {
			return
		}
		vals := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			vals = sv.GetSlice()
		}
		for _, v := range vals {
			parts = append(parts, "--"+f.Name+" "+v)
		}
	})
	return strings.Join(parts, " ")
}

func sourceName(src profiles.Source) string {
	if src.Path == "" {
		return "built-in default"
	}
	return src.Path
}

// profileArg is the profile a command names, else the nearest sandbox.toml
// up from here; notFound turns a failed search into the command's error.
func profileArg(args []string, notFound func(error) error) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	file, err := profiles.Find(cwd)
	if err != nil {
		return "", notFound(err)
	}
	return file, nil
}

func newProfileCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a profile; errors are printed as FILE:LINE:COL: message",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			file, err := profileArg(args, func(err error) error {
				return &profiles.Error{Msg: err.Error(), Suggest: "run sandbox init to write one, or name a file"}
			})
			if err != nil {
				return err
			}
			if _, err := profiles.Load(file); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: ok\n", file)
			return nil
		},
	}
}
