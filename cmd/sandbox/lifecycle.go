package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sandbox/control"
	"sandbox/runs"
	"sandbox/sandbox"
)

func newLogsCmd() *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] ID|NAME",
		Short: "Show a run's output (detached runs, and runs with --log)",
		Long: `Show the output a run kept in its log: stdout to stdout, stderr to stderr.
With -f, follow it until the run ends, then exit with the run's status.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			r, err := runs.Lookup(args[0])
			if err != nil {
				return err
			}
			return o.show(r, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "follow the output until the run ends; exit with its status")
	cmd.Flags().IntVarP(&o.tail, "tail", "n", -1, "only the last N lines")
	cmd.Flags().BoolVarP(&o.timestamps, "timestamps", "t", false, "prefix each line with the time it was written (RFC 3339)")
	return cmd
}

type logsOptions struct {
	follow, timestamps bool
	tail               int
}

func (o *logsOptions) show(r runs.Status, stdout, stderr io.Writer) error {
	path := filepath.Join(r.Dir, runs.LogFile)
	var recs []string
	for _, p := range []string{path + ".1", path} {
		if b, err := os.ReadFile(p); err == nil {
			recs = append(recs, splitLines(string(b))...)
		}
	}
	if len(recs) == 0 {
		if _, err := os.Stat(path); err != nil && !o.follow {
			return &sandbox.SetupError{Msg: fmt.Sprintf("run %s kept no log", r.ID), Fix: "detached runs keep one; a foreground run keeps one with --log"}
		}
	}
	if o.tail >= 0 && len(recs) > o.tail {
		recs = recs[len(recs)-o.tail:]
	}
	for _, l := range recs {
		o.print(l, stdout, stderr)
	}
	if !o.follow {
		return nil
	}
	return o.followLog(r, path, stdout, stderr)
}

// followLog reads what is added to the log (across a rotation) until the
// run has ended and its last line is out.
func (o *logsOptions) followLog(r runs.Status, path string, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var rd *bufio.Reader
	if f != nil {
		defer func() { f.Close() }()
		_, _ = f.Seek(0, io.SeekEnd)
		rd = bufio.NewReader(f)
	}
	var partial string
	drain := func() {
		for rd != nil {
			s, err := rd.ReadString('\n')
			partial += s
			if err != nil {
				return
			}
			o.print(partial[:len(partial)-1], stdout, stderr)
			partial = ""
		}
	}
	for {
		cur, lerr := runs.Lookup(r.ID)
		drain()
		// A rotation: finish the old file, then read the new one from its start.
		if fi, err := os.Stat(path); err == nil && (f == nil || !sameFile(f, fi)) {
			if nf, err := os.Open(path); err == nil {
				if f != nil {
					f.Close()
				}
				f, rd, partial = nf, bufio.NewReader(nf), ""
				drain()
			}
		}
		if lerr != nil || !cur.Running() {
			drain()
			if cur.Exit != nil && cur.Exit.Code != 0 {
				return &sandbox.ExitError{Code: cur.Exit.Code}
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sameFile(f *os.File, fi os.FileInfo) bool {
	cur, err := f.Stat()
	return err == nil && os.SameFile(cur, fi)
}

func (o *logsOptions) print(line string, stdout, stderr io.Writer) {
	rec, ok := runs.ParseLogRecord(line)
	if !ok {
		return
	}
	w := stdout
	if rec.Stderr {
		w = stderr
	}
	if o.timestamps {
		fmt.Fprint(w, rec.Time, " ")
	}
	nl := "\n"
	if rec.Piece {
		nl = ""
	}
	fmt.Fprint(w, rec.Text, nl)
}

func splitLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func newStopCmd() *cobra.Command {
	var secs int
	cmd := &cobra.Command{
		Use:   "stop [-t SECONDS] ID|NAME...",
		Short: "Stop running sandboxes: SIGTERM, then SIGKILL; waits and records how each ended",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var errs []error
			for _, ref := range args {
				r, err := runs.Lookup(ref)
				if err == nil {
					r, err = control.Stop(r, time.Duration(secs)*time.Second)
				}
				var nr *runs.NotRunningError
				if errors.As(err, &nr) {
					fmt.Fprintf(c.ErrOrStderr(), "sandbox: %s had already ended\n", nr.Run.ID)
					err = nil
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), r.ID)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().IntVarP(&secs, "time", "t", int(sandbox.TimeoutGrace/time.Second), "seconds between SIGTERM and SIGKILL")
	return cmd
}

func newRmCmd() *cobra.Command {
	var exited bool
	cmd := &cobra.Command{
		Use:   "rm ID|NAME... | rm --exited",
		Short: "Forget ended runs: their records and logs",
		RunE: func(c *cobra.Command, args []string) error {
			if exited == (len(args) > 0) {
				return &usageError{err: errors.New("rm takes run ids or names, or --exited"), cmd: "sandbox rm"}
			}
			var gone []runs.Status
			var errs []error
			if exited {
				all, err := runs.ListAll()
				if err != nil {
					return err
				}
				for _, r := range all {
					if !r.Running() {
						gone = append(gone, r)
					}
				}
			}
			for _, ref := range args {
				r, err := runs.Lookup(ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				gone = append(gone, r)
			}
			for _, r := range gone {
				if err := runs.Remove(r); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), r.ID)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&exited, "exited", false, "every run that has ended")
	return cmd
}
