package imageworker

// Error is a failure the user can fix, with how: cmd/sandbox prints Msg,
// then Fix as a hint (as for sandbox.SetupError).
type Error struct {
	Msg string
	Fix string
}

func (e *Error) Error() string { return e.Msg }

// Hint says how to fix it.
func (e *Error) Hint() string { return e.Fix }
