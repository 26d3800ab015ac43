package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"sandbox/imagestore"
	"sandbox/profiles"
	"sandbox/sandbox"
)

func newLockCmd() *cobra.Command {
	var o profileOptions
	var update, tlsVerify bool
	cmd := &cobra.Command{
		Use:   "lock [--update]",
		Short: "Pin the profile's image to a digest in sandbox.lock",
		Long: `Write sandbox.lock beside the profile, pinning its image to the digest the
registry gives for it now. run and shell then use that digest, so every
teammate and CI machine gets the same image; commit the file. An existing
pin is kept unless --update.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			p, src, err := o.load()
			if err != nil {
				return err
			}
			if p.Image == "" {
				return &usageError{err: fmt.Errorf("the profile has no image to lock"), cmd: c.CommandPath()}
			}
			ref, err := imagestore.Normalize(p.Image)
			if err != nil {
				return err
			}
			old, err := profiles.ReadLock(src.Project)
			if err != nil && !update {
				return err
			}
			if old != nil && old.Image.Ref == ref && !update {
				fmt.Fprintf(os.Stderr, "%s already pins %s to %s (pass --update to re-resolve)\n", profiles.LockFileName, ref, old.Image.Digest)
				return nil
			}
			insecure := !tlsVerify || slices.Contains(p.InsecureRegistries, imagestore.Registry(ref))
			var img *imagestore.Image
			err = withImages(func(imgs *sandbox.Images) (err error) {
				img, err = imgs.Pull(context.Background(), ref, imagestore.PullOptions{Insecure: insecure})
				return err
			})
			if err != nil {
				return err
			}
			l := &profiles.Lock{Image: profiles.LockedImage{Ref: ref, Digest: img.RefDigest}}
			if err := profiles.WriteLock(src.Project, l); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "pinned %s to %s in %s\n", ref, img.RefDigest, profiles.LockFileName)
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.overrides.Image, "image", "", "the image to lock instead of the profile's")
	cmd.Flags().BoolVar(&update, "update", false, "re-resolve the image and rewrite the pin")
	cmd.Flags().BoolVar(&tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate")
	return cmd
}

func newResetCmd() *cobra.Command {
	var o profileOptions
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Discard the project's sandbox: its changes to the image",
		Long:  "Discard everything the project's sandbox changed on top of its image; the next run starts from the image again. The project directory and the sandbox home are not touched.",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			_, src, err := o.load()
			if err != nil {
				return err
			}
			h, err := sandbox.CurrentHost()
			if err != nil {
				return err
			}
			done, err := sandbox.Reset(h, src.Project)
			if err != nil {
				return err
			}
			if done {
				fmt.Fprintf(os.Stderr, "discarded the sandbox of %s\n", src.Project)
			} else {
				fmt.Fprintf(os.Stderr, "%s has no sandbox changes to discard\n", src.Project)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile file (default: the nearest sandbox.toml up from here)")
	return cmd
}
