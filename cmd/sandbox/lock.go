package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/profiles"
	"sandbox/sandbox"
	"sandbox/session"
	"sandbox/workspace"
)

func newLockCmd() *cobra.Command {
	var o profileOptions
	var update, tlsVerify, check bool
	cmd := &cobra.Command{
		Use:   "lock [--update | --check]",
		Short: "Pin the profile's image to a digest in sandbox.lock",
		Long: `Write sandbox.lock beside the profile, pinning its image to the digest the
registry gives for it now. run and shell then use that digest, so every
teammate and CI machine gets the same image; commit the file. An existing
pin is kept unless --update. sandbox build records the setup steps' keys and
layers in it.

--check compares the lock with what a build would give from this store now
(the pinned image stored, every step cached under the lock's key with the
lock's layer), pulling and building nothing: exit 0 when it matches, 1 when
not, listing what differs. CI runs it after sandbox build --locked.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			p, src, err := o.load()
			if err != nil {
				return err
			}
			if p.Image == "" {
				return &usageError{err: fmt.Errorf("the profile has no image to lock"), cmd: c.CommandPath()}
			}
			if check {
				return checkLock(session.Session{Request: session.Request{Profile: p, Project: src.Project, ProfileFile: src.Path}})
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
			insecure := session.Insecure(p, ref, !tlsVerify)
			var img *imagestore.Image
			err = withImages(func(imgs *imageworker.Images) (err error) {
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
	cmd.Flags().BoolVar(&check, "check", false, "exit 0 if the lock matches what a build would give from this store, 1 if not")
	cmd.MarkFlagsMutuallyExclusive("update", "check")
	return cmd
}

// checkLock prints how sandbox.lock differs from the store and exits 1
// if it does (a CI gate, like `diff`).
func checkLock(s session.Session) error {
	problems, err := s.CheckLock()
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "sandbox: lock check: %s\n", p)
	}
	if len(problems) > 0 {
		return &sandbox.ExitError{Code: 1}
	}
	fmt.Fprintf(os.Stderr, "%s matches this store\n", profiles.LockFileName)
	return nil
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
			h, err := host.Current()
			if err != nil {
				return err
			}
			done, err := workspace.Reset(h, src.Project)
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
