// Package cmdutil is the plumbing shared by accel-data's cobra command-line
// tools (swarmup, jfs-dedup), after cli/cli's cmdutil and ghcmd: the IO
// streams a command is given, the one way a root command is set up (version,
// usage errors, the EXIT STATUS section generated from the command's exit
// code table) and Main, which runs it and turns its error into one line on
// stderr and an exit status.
package cmdutil

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// IOStreams are the standard streams a command reads and writes, and what
// they are connected to. Tests build one around buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// IsTTY is true when Out is a terminal: aligned tables, bars, ages.
	IsTTY bool
	// ErrIsTTY is true when ErrOut is a terminal: progress is redrawn there.
	ErrIsTTY bool
	// Width is Out's terminal width in columns; 0 means unknown (no shortening).
	Width int
}

// System wires the process's own streams and asks the kernel whether they
// are terminals.
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ); err == nil {
		s.IsTTY = true
		s.Width = int(ws.Col)
	}
	if _, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS); err == nil {
		s.ErrIsTTY = true
	}
	return s
}
