package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"sandbox/console"
	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/profiles"
	"sandbox/session"
)

// openImages opens the user's image store.
func openImages() (*imageworker.Images, error) {
	h, err := host.Current()
	if err != nil {
		return nil, err
	}
	return imageworker.Open(h)
}

// withImages runs fn on the user's image store and closes it.
func withImages(fn func(*imageworker.Images) error) error {
	imgs, err := openImages()
	if err != nil {
		return err
	}
	defer imgs.Close()
	return fn(imgs)
}

type pullOptions struct {
	profileOptions
	tlsVerify bool
	quiet     bool
	maxSize   string
	maxFiles  int
}

func newPullCmd() *cobra.Command {
	o := &pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull [flags] REF",
		Short: "Pull an image into the local store",
		Long: `Pull an image from its registry into the local store, once: layers already
stored are not fetched again. A multi-platform image resolves to this host's
platform. Credentials come from ~/.docker/config.json, $REGISTRY_AUTH_FILE or
containers' auth.json (podman login).`,
		Example: `  sandbox pull docker.io/library/debian:bookworm
  sandbox pull --tls-verify=false localhost:5000/tools:1`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return o.run(args[0]) },
	}
	cmd.Flags().BoolVar(&o.tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate (false: allow plain HTTP and self-signed; also for registries in the profile's insecure_registries)")
	cmd.Flags().StringVarP(&o.file, "profile", "f", "", "profile whose insecure_registries apply (default: the nearest sandbox.toml up from here)")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print only the image digest")
	cmd.Flags().StringVar(&o.maxSize, "max-layer-size", "", "refuse layers larger than this uncompressed, e.g. 64GiB (default 32GiB; env SANDBOX_MAX_LAYER_SIZE)")
	cmd.Flags().IntVar(&o.maxFiles, "max-layer-files", 0, "refuse layers with more entries (default 2000000; env SANDBOX_MAX_LAYER_FILES)")
	return cmd
}

func (o *pullOptions) run(ref string) error {
	p, _, err := o.load()
	if err != nil {
		return err
	}
	h, err := host.Current()
	if err != nil {
		return err
	}
	lim, err := imageworker.LimitsFromEnv()
	if err != nil {
		return err
	}
	if o.maxSize != "" {
		if lim.LayerBytes, err = profiles.ParseSize(o.maxSize); err != nil {
			return &usageError{err: fmt.Errorf("--max-layer-size %q: %w", o.maxSize, err), cmd: "sandbox pull"}
		}
	}
	if o.maxFiles > 0 {
		lim.LayerFiles = o.maxFiles
	}
	imgs, err := imageworker.OpenWith(h, lim)
	if err != nil {
		return err
	}
	defer imgs.Close()
	if imgs.Degraded != "" && !o.quiet {
		fmt.Fprintf(os.Stderr, "sandbox: warning: %s\n", imgs.Degraded)
	}
	var progress func(imagestore.Progress)
	var bar *progressBar
	if !o.quiet {
		bar = newProgressBar(os.Stderr, console.IsTerminal(2))
		progress = bar.update
	}
	start := time.Now()
	img, err := imgs.Pull(context.Background(), ref, imagestore.PullOptions{Insecure: session.Insecure(p, ref, !o.tlsVerify), Progress: progress})
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		return err
	}
	if o.quiet {
		fmt.Println(img.Digest)
		return nil
	}
	fmt.Fprintf(os.Stderr, "pulled %s (%s, %d layers) in %.1fs\n", img.Ref, humanSize(img.Size), len(img.Layers), time.Since(start).Seconds())
	fmt.Println(img.Digest)
	return nil
}

// progressBar shows a pull: one redrawn line on a terminal, one line per
// finished layer otherwise.
type progressBar struct {
	w      io.Writer
	tty    bool
	layers map[string]imagestore.Progress
	order  []string
	last   time.Time
}

func newProgressBar(w io.Writer, tty bool) *progressBar {
	return &progressBar{w: w, tty: tty, layers: map[string]imagestore.Progress{}}
}

func (b *progressBar) update(p imagestore.Progress) {
	if _, ok := b.layers[p.Layer]; !ok {
		b.order = append(b.order, p.Layer)
	}
	b.layers[p.Layer] = p
	if !b.tty {
		switch p.Phase {
		case "done":
			fmt.Fprintf(b.w, "layer %.19s: %s downloaded and unpacked\n", p.Layer, humanSize(p.Total))
		case "exists":
			fmt.Fprintf(b.w, "layer %.19s: already stored\n", p.Layer)
		}
		return
	}
	if time.Since(b.last) < 100*time.Millisecond && p.Phase == "download" {
		return
	}
	b.last = time.Now()
	var done, total int64
	finished := 0
	for _, l := range b.layers {
		done, total = done+l.Done, total+l.Total
		if l.Phase == "done" || l.Phase == "exists" {
			finished++
		}
	}
	const width = 30
	fill := 0
	if total > 0 {
		fill = int(done * width / total)
	}
	fmt.Fprintf(b.w, "\r[%s%s] %s / %s, %d/%d layers done ", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		humanSize(done), humanSize(total), finished, len(b.layers))
}

func (b *progressBar) finish() {
	if b.tty && len(b.layers) > 0 {
		fmt.Fprintln(b.w)
	}
}

// finishIfDone ends the bar's line once every layer it knows is done, so
// that what follows (a step's output) starts on a line of its own.
func (b *progressBar) finishIfDone() {
	for _, l := range b.layers {
		if l.Phase != "done" && l.Phase != "exists" {
			return
		}
	}
	b.finish()
	b.layers, b.order = map[string]imagestore.Progress{}, nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func newImagesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "images [--json]",
		Short: "List stored images",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var list []imagestore.Info
			err := withImages(func(imgs *imageworker.Images) (err error) {
				list, err = imgs.List()
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []imagestore.Info{}
				}
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REF\tDIGEST\tSIZE\tCREATED\tUSED BY")
			for _, i := range list {
				used := strings.Join(i.Projects, ",")
				if used == "" {
					used = "-"
				}
				fmt.Fprintf(tw, "%s\t%.19s\t%s\t%s\t%s\n", i.Ref, i.Digest, humanSize(i.Size), i.Created.Format("2006-01-02"), used)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRmiCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [--force] REF...",
		Short: "Remove images from the store",
		Long:  "Remove images, and the layers no other image shares. An image a project's sandbox stands on is kept unless --force.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withImages(func(imgs *imageworker.Images) error {
				rep, err := imgs.Remove(args, force)
				if err == nil {
					fmt.Fprintf(os.Stderr, "removed %s; freed %d layers, %s of blobs\n", strings.Join(args, ", "), rep.Layers, humanSize(rep.Bytes))
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove also images that sandboxes stand on")
	return cmd
}

func newPruneCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "prune [--all]",
		Short: "Free what no image needs: unused layers, leftovers of interrupted pulls",
		Long:  "Free blobs and unpacked layers that no stored image needs, and what interrupted pulls left. --all also removes the images that no project's sandbox stands on.",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withImages(func(imgs *imageworker.Images) error {
				rep, err := imgs.Prune(all)
				for _, r := range rep.Images {
					fmt.Fprintf(os.Stderr, "removed %s\n", r)
				}
				fmt.Fprintf(os.Stderr, "freed %d layers, %d blobs (%s)\n", rep.Layers, rep.Blobs, humanSize(rep.Bytes))
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "also remove images no sandbox stands on")
	return cmd
}
