package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"sandbox/console"
	"sandbox/profiles"
)

// grantHost is what the grants of the profile for project are judged
// against on this host.
func grantHost(project string) profiles.GrantHost {
	home, _ := os.UserHomeDir()
	return profiles.GrantHost{Project: project, Home: home, Getenv: os.Getenv}
}

// untrustedError is a run refused because its profile grants something
// the user has not trusted.
type untrustedError struct {
	src     profiles.Source
	grants  []profiles.Grant
	changed bool // trusted once, with other content
	// regranted: trusted with this content, which grants other things now
	// ($VARS or ~ in mount sources expand differently), or trusted by a
	// sandbox that did not record grants (legacy).
	regranted, legacy bool
	refused           bool // asked on the terminal and declined
	// planted: the profile appeared during a sandbox run (none was there
	// when it started), so the sandbox may have written it.
	planted bool
}

func (e *untrustedError) Error() string {
	var b strings.Builder
	switch {
	case e.refused:
		fmt.Fprintf(&b, "profile %s not trusted: you declined", e.src.Path)
	case e.planted:
		fmt.Fprintf(&b, "profile %s appeared during a sandbox run on the built-in profile (none was there when it started): the sandbox may have written it", e.src.Path)
		if len(e.grants) > 0 {
			b.WriteString(", and it grants:")
		}
	case e.changed:
		fmt.Fprintf(&b, "profile %s changed since you trusted it, and it grants:", e.src.Path)
	case e.legacy:
		fmt.Fprintf(&b, "profile %s was trusted by an older sandbox that did not record what it grants, and it grants:", e.src.Path)
	case e.regranted:
		fmt.Fprintf(&b, "profile %s grants other things than when you trusted it (its $VARS or ~ expand to other host paths now), and it grants:", e.src.Path)
	default:
		fmt.Fprintf(&b, "profile %s is not trusted, and it grants:", e.src.Path)
	}
	if !e.refused {
		for _, g := range e.grants {
			fmt.Fprintf(&b, "\n  %s", g)
		}
	}
	return b.String()
}

func (e *untrustedError) Hint() string {
	return "read it, then trust it with: sandbox trust " + e.src.Path
}

// requireTrust lets a profile with grants run only when the user trusted
// this content of it granting these grants, as this environment expands
// them; on a terminal it asks once and records the answer.
func requireTrust(src profiles.Source, grants []profiles.Grant, in *os.File, out io.Writer) error {
	if src.Path == "" {
		return nil
	}
	store, err := profiles.DefaultTrustStore()
	if err != nil {
		return err
	}
	planted, err := store.Planted(src.Path)
	if err != nil || (len(grants) == 0 && planted != src.Digest) {
		return err
	}
	had, err := store.Lookup(src.Path)
	want := trustEntry(src, grants)
	if err != nil || (had.Digest == want.Digest && had.Grants == want.Grants) {
		return err
	}
	refusal := &untrustedError{src: src, grants: grants, changed: had.Digest != "" && had.Digest != want.Digest, planted: planted == src.Digest}
	refusal.legacy = had.Digest == want.Digest && had.Grants == ""
	refusal.regranted = had.Digest == want.Digest && had.Grants != ""
	if !console.IsTerminal(int(in.Fd())) {
		return refusal
	}
	fmt.Fprintln(out, "sandbox: "+strings.Replace(refusal.Error(), " is not trusted, and it", "", 1))
	fmt.Fprint(out, "sandbox: trust it and run? [y/N] ")
	answer, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		refusal.refused = true
		return refusal
	}
	return store.Trust(want)
}

// trustEntry is what trusting src with grants records.
func trustEntry(src profiles.Source, grants []profiles.Grant) profiles.TrustEntry {
	return profiles.TrustEntry{Path: src.Path, Digest: src.Digest, Grants: profiles.GrantsDigest(grants)}
}

// markPlanted records a sandbox.toml that appeared in project during a
// run on the built-in profile (src.Path empty): the next run asks before
// using it, grants or not.
func markPlanted(src profiles.Source) {
	if src.Path != "" || src.Project == "" {
		return
	}
	path := filepath.Join(src.Project, profiles.FileName)
	content, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if store, err := profiles.DefaultTrustStore(); err == nil {
		if err := store.MarkPlanted(path, profiles.Digest(content)); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox: warning: %v\n", err)
			return
		}
		fmt.Fprintf(os.Stderr, "sandbox: %s appeared during this run; it will not be used until you trust it (sandbox trust %s)\n", path, path)
	}
}

// grantsLine is the start line of a run whose profile grants something.
func grantsLine(grants []profiles.Grant) string {
	whats := make([]string, len(grants))
	for i, g := range grants {
		whats[i] = g.What
	}
	return "sandbox: this profile grants: " + strings.Join(whats, ", ")
}

type trustOptions struct {
	revoke, list bool
}

func newTrustCmd() *cobra.Command {
	o := &trustOptions{}
	cmd := &cobra.Command{
		Use:   "trust [FILE]",
		Short: "Trust a profile that grants access beyond its project (host paths, variables, network)",
		Long: `A profile that grants the sandbox more than its project (a host path outside
it, a host variable beyond the built-in list, the host network or loopback, a
port open to the network, writable git hooks) runs only after you trusted its
content with this command. A changed profile needs trust again, and so does
one whose grants expand to other host paths than when you trusted it (a
mount source = "$CACHE_DIR" with another $CACHE_DIR). Flags typed on the
command line need none. FILE defaults to the nearest sandbox.toml.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return o.run(c.OutOrStdout(), args)
		},
	}
	cmd.Flags().BoolVar(&o.revoke, "revoke", false, "forget the trust of the profile")
	cmd.Flags().BoolVar(&o.list, "list", false, "list the trusted profiles")
	cmd.MarkFlagsMutuallyExclusive("revoke", "list")
	return cmd
}

func (o *trustOptions) run(out io.Writer, args []string) error {
	store, err := profiles.DefaultTrustStore()
	if err != nil {
		return err
	}
	if o.list {
		entries, err := store.List()
		for _, e := range entries {
			fmt.Fprintf(out, "%s  %s\n", e.Digest, e.Path)
		}
		return err
	}
	file, err := profileArg(args, func(error) error {
		return &profiles.Error{Msg: "no sandbox.toml here or in a parent directory", Suggest: "name the profile: sandbox trust FILE"}
	})
	if err != nil {
		return err
	}
	if file, err = filepath.Abs(file); err != nil {
		return err
	}
	if o.revoke {
		had, err := store.Revoke(file)
		if err == nil && !had {
			fmt.Fprintf(out, "%s was not trusted\n", file)
		} else if err == nil {
			fmt.Fprintf(out, "revoked trust of %s\n", file)
		}
		return err
	}
	p, src, err := profiles.Open(filepath.Dir(file), file)
	if err != nil {
		return err
	}
	grants := p.Grants(grantHost(src.Project))
	if err := store.Trust(trustEntry(src, grants)); err != nil {
		return err
	}
	fmt.Fprintf(out, "trusted %s (%s)\n", src.Path, src.Digest)
	for _, g := range grants {
		fmt.Fprintf(out, "  grants: %s\n", g)
	}
	return nil
}
