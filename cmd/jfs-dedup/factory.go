package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/cmdutil"
)

// IOStreams are the standard streams and what they are connected to.
type IOStreams = cmdutil.IOStreams

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
