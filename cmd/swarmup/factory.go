package main

import (
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/pkg/api"
)

// IOStreams are the standard streams a command reads and writes, and what
// they are connected to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// IsTTY is true when Out is a terminal: aligned tables, bars, ages.
	IsTTY bool
	// ErrIsTTY is true when ErrOut is a terminal: `warm --wait` redraws its progress in place.
	ErrIsTTY bool
	// Width is the terminal's width in columns; 0 means unknown (no shortening).
	Width int
}

// Factory hands every command what it needs from the outside world, so
// tests can inject streams, a clock, a working directory and a socket.
type Factory struct {
	IO     *IOStreams
	Now    func() time.Time
	Getwd  func() (string, error)
	Getenv func(string) string
	// Client returns the warmupd client; nil means a client for Socket.
	Client func() *api.Client

	// Socket is the --socket flag (default $WARMUPD_SOCKET or api.DefaultSocket).
	Socket string
	// Output holds the global output flags (--json, --noheader, --format).
	Output OutputOptions
}

// APIClient returns the client every command uses.
func (f *Factory) APIClient() *api.Client {
	if f.Client != nil {
		return f.Client()
	}
	return &api.Client{Socket: f.Socket}
}

func (f *Factory) defaultSocket() string {
	if f.Getenv != nil {
		if s := f.Getenv(api.SocketEnv); s != "" {
			return s
		}
	}
	return api.DefaultSocket
}

// systemIO wires the process's own streams and asks the kernel whether they
// are terminals.
func systemIO() *IOStreams {
	io := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ); err == nil {
		io.IsTTY = true
		io.Width = int(ws.Col)
	}
	if _, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS); err == nil {
		io.ErrIsTTY = true
	}
	return io
}
