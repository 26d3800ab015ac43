package profiles

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned by Find when no profile exists up the tree.
var ErrNotFound = errors.New("no " + FileName + " found")

// Error is one problem in a profile, located as FILE:LINE:COL where known.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 when unknown (a flag, say)
	Msg       string
	Suggest   string // what to write instead, if anything
	// unknownKey marks an unknown key: the rest of the file still decodes,
	// so validation can report its problems alongside.
	unknownKey bool
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return e.Msg
}

// Hint is printed after the error by the CLI.
func (e *Error) Hint() string { return e.Suggest }

// Errors is every problem found in one profile, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Hint joins the hints of all errors.
func (es Errors) Hint() string {
	var hints []string
	for _, e := range es {
		if e.Suggest != "" {
			hints = append(hints, e.Suggest)
		}
	}
	return strings.Join(hints, "\n")
}

// Unwrap lets errors.As find the individual errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// orNil returns nil for an empty list, so callers can `return errs.orNil()`.
func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
