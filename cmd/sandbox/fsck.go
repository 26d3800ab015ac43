package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"sandbox/imagestore"
	"sandbox/imageworker"
)

// fsckError is a check that found damage it did not repair.
type fsckError struct{ n int }

func (e *fsckError) Error() string {
	return fmt.Sprintf("the image store has %d damaged blobs or layers", e.n)
}

func (e *fsckError) Hint() string {
	return "run `sandbox fsck --repair` (add --tls-verify=false for a plain-HTTP registry) to fetch or unpack them again"
}

func newFsckCmd() *cobra.Command {
	var o imagestore.FsckOptions
	var tlsVerify, asJSON bool
	cmd := &cobra.Command{
		Use:   "fsck [--repair] [--full]",
		Short: "Check the image store: blobs against their digests, unpacked layers against their records",
		Long: `Check every stored blob against its digest, and every unpacked layer against
the record its unpack wrote (each path's type, mode, owner, size and mtime;
with --full also each file's content hash).

--repair fetches damaged blobs again from the registry each image came from,
unpacks damaged layers again, and removes the images that still cannot be
used, except those a project's sandbox stands on: those are named instead.
Exit status 0: nothing is damaged (any more); 125: damage remains.`,
		Example: `  sandbox fsck
  sandbox fsck --full --repair`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.Insecure = !tlsVerify
			return withImages(func(imgs *imageworker.Images) error {
				rep, err := imgs.Fsck(context.Background(), o)
				printFsck(rep, asJSON)
				if err != nil {
					return err
				}
				if left := unrepaired(rep); left > 0 {
					return &fsckError{n: left}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&o.Repair, "repair", false, "fetch or unpack again what is damaged; remove images beyond repair")
	cmd.Flags().BoolVar(&o.Full, "full", false, "hash every file of every layer (slower), not only size and mtime")
	cmd.Flags().BoolVar(&tlsVerify, "tls-verify", true, "re-fetch only over HTTPS with a verified certificate")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printFsck(rep imagestore.FsckReport, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	for _, p := range rep.Problems {
		fmt.Printf("%s %.19s (%s): damaged\n", p.Kind, p.Digest, strings.Join(p.Images, ", "))
		for _, d := range p.Details {
			fmt.Printf("  %s\n", d)
		}
		if p.Fixed != "" {
			fmt.Printf("  repaired: %s\n", p.Fixed)
		}
	}
	for _, r := range rep.Removed {
		fmt.Printf("removed %s\n", r)
	}
	if n := len(rep.Unrecorded); n > 0 {
		fmt.Fprintf(os.Stderr, "%d layers have no record of their unpack (unpacked by an older sandbox): only their blobs were checked; `sandbox fsck --repair` unpacks them again, which records them\n", n)
	}
	fmt.Fprintf(os.Stderr, "checked %d blobs and %d layers: %d damaged, %d left\n",
		rep.Blobs, rep.Layers, len(rep.Problems), unrepaired(rep))
}

func unrepaired(rep imagestore.FsckReport) int {
	n := 0
	for _, p := range rep.Problems {
		if p.Fixed == "" {
			n++
		}
	}
	return n
}
