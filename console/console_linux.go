// Package console handles the terminal side of a sandbox: raw mode on the
// user's terminal, window sizes, and copying between it and the PTY
// master that the sandbox's init hands back.
package console

import (
	"golang.org/x/sys/unix"
)

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// State is a terminal's saved settings.
type State struct {
	fd      int
	termios unix.Termios
}

// MakeRaw puts the terminal fd into raw mode (cfmakeraw) and returns its
// previous state, for Restore.
func MakeRaw(fd int) (*State, error) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	old := &State{fd: fd, termios: *t}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return nil, err
	}
	return old, nil
}

// Restore puts the terminal back as it was. Safe to call more than once.
func (s *State) Restore() error {
	if s == nil {
		return nil
	}
	return unix.IoctlSetTermios(s.fd, unix.TCSETS, &s.termios)
}

// Size is a window size in characters.
type Size struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// GetSize reads the window size of terminal fd.
func GetSize(fd int) (Size, error) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return Size{}, err
	}
	return Size{Rows: ws.Row, Cols: ws.Col}, nil
}

// SetSize sets the window size of terminal fd; on a PTY master this sends
// SIGWINCH to the foreground process group of its slave.
func SetSize(fd int, s Size) error {
	if s.Rows == 0 || s.Cols == 0 {
		return nil
	}
	return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
}
