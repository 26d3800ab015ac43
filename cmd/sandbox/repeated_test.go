package main

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

// TestRepeatedIsStringArray: a flag defined with repeatedVar reads in the
// help, parses, prints and is read back (GetStringArray) exactly as one
// defined with pflag's StringArrayVarP (issue 18 replaced the latter).
func TestRepeatedIsStringArray(t *testing.T) {
	define := func(own bool) (*pflag.FlagSet, *[]string, *[]string) {
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		var a, b []string
		if own {
			repeatedVar(fs, &a, "env", "e", "set `KEY=VALUE` inside (repeatable)")
			repeatedVar(fs, &b, "allow", "", "let the proxy reach a host (repeatable)")
		} else {
			fs.StringArrayVarP(&a, "env", "e", nil, "set `KEY=VALUE` inside (repeatable)")
			fs.StringArrayVarP(&b, "allow", "", nil, "let the proxy reach a host (repeatable)")
		}
		return fs, &a, &b
	}
	theirs, _, _ := define(false)
	ours, _, _ := define(true)
	if got, want := ours.FlagUsages(), theirs.FlagUsages(); got != want {
		t.Errorf("help:\n%s\nwant pflag's:\n%s", got, want)
	}
	for _, args := range [][]string{
		nil,
		{"-e", "A=1"},
		{"-e", "A=1,B=2", "--env", `C="x y"`, "-e="},
		{"--allow", "a.example.org", "--allow", "b.example.org", "-e", "K=v"},
	} {
		fsT, aT, bT := define(false)
		fsO, aO, bO := define(true)
		errT, errO := fsT.Parse(args), fsO.Parse(args)
		if (errT == nil) != (errO == nil) || !slices.Equal(*aT, *aO) || !slices.Equal(*bT, *bO) {
			t.Errorf("%q: parsed %q %q (%v), want pflag's %q %q (%v)", args, *aO, *bO, errO, *aT, *bT, errT)
		}
		for _, name := range []string{"env", "allow"} {
			fT, fO := fsT.Lookup(name), fsO.Lookup(name)
			if fT.Value.String() != fO.Value.String() || fT.Value.Type() != fO.Value.Type() || fT.Changed != fO.Changed {
				t.Errorf("%q: --%s is %s %s %v, want pflag's %s %s %v", args, name, fO.Value, fO.Value.Type(), fO.Changed, fT.Value, fT.Value.Type(), fT.Changed)
			}
			gotO, errO := fsO.GetStringArray(name)
			gotT, _ := fsT.GetStringArray(name)
			if errO != nil || !slices.Equal(gotO, gotT) {
				t.Errorf("%q: GetStringArray(%s) = %q, %v; want %q", args, name, gotO, errO, gotT)
			}
		}
	}
}
