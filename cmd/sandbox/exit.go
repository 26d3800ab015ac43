package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"sandbox/control"
	"sandbox/sandbox"
	"sandbox/session"
)

// usageError is a bad flag or argument.
type usageError struct {
	err error
	cmd string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Hint() string  { return "see '" + e.cmd + " --help'" }

// exitCode is the one place errors become text and exit codes: the
// payload's code passes through untouched, a payload that cannot start is
// 126 or 127, anything else is a sandbox error, 125, printed once as
// "sandbox: <chain>" followed by the hints the chain carries.
func exitCode(err error, w io.Writer) int {
	if err == nil {
		return 0
	}
	var step *session.StepError
	if errors.As(err, &step) {
		printError(err, w)
		return step.Code
	}
	var exit *sandbox.ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	printError(err, w)
	var execErr *sandbox.ExecError
	if errors.As(err, &execErr) {
		return execErr.Code
	}
	var ctlErr *control.ExecError // a process of `sandbox exec`
	if errors.As(err, &ctlErr) {
		return ctlErr.Code
	}
	return sandbox.ExitSetup
}

func printError(err error, w io.Writer) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "sandbox: %s\n", line)
	}
	seen := map[string]bool{}
	for _, h := range hints(err) {
		if h != "" && !seen[h] {
			seen[h] = true
			fmt.Fprintf(w, "  hint: %s\n", h)
		}
	}
}

// hints collects Hint() from every error in the chain, joined ones too.
func hints(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if h, ok := err.(interface{ Hint() string }); ok {
		out = append(out, strings.Split(h.Hint(), "\n")...)
		return out
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, hints(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, hints(e)...)
		}
	}
	return out
}
