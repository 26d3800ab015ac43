package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestRootForOneCommandReadsTheSame: a root built for one command (issue
// 18: run builds only the command its arguments name) holds that command
// under its name, and every command and subcommand prints the same help,
// and the same error for a flag it does not know, as under the root
// with all of them.
func TestRootForOneCommandReadsTheSame(t *testing.T) {
	full := newRootCmd()
	if got, want := len(full.Commands()), len(commands); got != want {
		t.Fatalf("the full root has %d commands, the table %d", got, want)
	}
	for _, c := range commands {
		root := newRootFor([]string{c.name, "--help"})
		if cs := root.Commands(); len(cs) != 1 || cs[0].Name() != c.name {
			t.Errorf("newRootFor(%q) holds %v, want the one command %q", c.name, names(cs), c.name)
		}
	}
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		for _, sub := range cmd.Commands() {
			p := append(append([]string(nil), path...), sub.Name())
			for _, extra := range [][]string{{"--help"}, {"--no-such-flag"}} {
				args := append(append([]string(nil), p...), extra...)
				if all, one := execute(newRootCmd(), args), execute(newRootFor(args), args); all != one {
					t.Errorf("sandbox %s:\nwith every command:\n%s\nwith only %q:\n%s", strings.Join(args, " "), all, p[0], one)
				}
			}
			walk(sub, p)
		}
	}
	walk(full, nil)
	if out := execute(newRootFor([]string{"--help"}), []string{"--help"}); !strings.Contains(out, "run ") || !strings.Contains(out, "version ") || !strings.Contains(out, "completion ") {
		t.Errorf("sandbox --help does not list every command:\n%s", out)
	}
	// The root for one command has no `completion` (cobra's, built on
	// each Execute); the root for `completion` has it.
	if out := execute(newRootFor([]string{"completion", "bash"}), []string{"completion", "bash"}); !strings.Contains(out, "bash completion") {
		t.Errorf("sandbox completion bash:\n%.300s", out)
	}
}

func execute(root *cobra.Command, args []string) string {
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return fmt.Sprintf("%s\nerror: %v", out.String(), err)
}

func names(cs []*cobra.Command) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name())
	}
	return out
}
