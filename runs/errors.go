package runs

// Error is a request about runs that cannot be met as it is (a name in use,
// an ambiguous id, a run still running): Msg says what, Fix what to do.
type Error struct {
	Msg string
	Fix string
}

func (e *Error) Error() string { return e.Msg }

// Hint is Fix.
func (e *Error) Hint() string { return e.Fix }
