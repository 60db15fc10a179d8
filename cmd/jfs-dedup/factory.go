package main

import (
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// IOStreams are the standard streams and what they are connected to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrIsTTY is true when ErrOut is a terminal: the scan draws its progress there.
	ErrIsTTY bool
}

// Factory hands commands what they need from the outside world.
type Factory struct {
	IO  *IOStreams
	Now func() time.Time
	// Verbose is the global --verbose flag.
	Verbose bool
}

// Logger is the one logger of the process; components get tagged children.
func (f *Factory) Logger() zerolog.Logger {
	lvl := zerolog.InfoLevel
	if f.Verbose {
		lvl = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: f.IO.ErrOut, NoColor: !f.IO.ErrIsTTY, TimeFormat: time.RFC3339}).
		Level(lvl).With().Timestamp().Str("tool", "jfs-dedup").Logger()
}

func systemIO() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrIsTTY: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
