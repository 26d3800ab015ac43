// Package console handles the terminal side of a sandbox: raw mode on the
// user's terminal, window sizes, and copying between it and the PTY
// master that the sandbox's init hands back.
package console

import (
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool { return term.IsTerminal(fd) }

// State is a terminal's saved settings.
type State struct {
	fd    int
	saved *term.State
}

// MakeRaw puts the terminal fd into raw mode (cfmakeraw) and returns its
// previous state, for Restore.
func MakeRaw(fd int) (*State, error) {
	saved, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	return &State{fd: fd, saved: saved}, nil
}

// Restore puts the terminal back as it was. Safe to call more than once.
func (s *State) Restore() error {
	if s == nil {
		return nil
	}
	return term.Restore(s.fd, s.saved)
}

// Size is a window size in characters.
type Size struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// GetSize reads the window size of terminal fd.
func GetSize(fd int) (Size, error) {
	cols, rows, err := term.GetSize(fd)
	if err != nil {
		return Size{}, err
	}
	return Size{Rows: uint16(rows), Cols: uint16(cols)}, nil
}

// SetSize sets the window size of terminal fd; on a PTY master this sends
// SIGWINCH to the foreground process group of its slave. (x/term only
// reads sizes.)
func SetSize(fd int, s Size) error {
	if s.Rows == 0 || s.Cols == 0 {
		return nil
	}
	return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
}
