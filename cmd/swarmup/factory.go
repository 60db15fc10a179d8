package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
)

// IOStreams are the standard streams a command reads and writes.
type IOStreams = cmdutil.IOStreams

// Factory hands every command what it needs from the outside world, so
// tests can inject streams, a clock, a working directory and a socket.
type Factory struct {
	IO     *IOStreams
	Now    func() time.Time
	Getwd  func() (string, error)
	Getenv func(string) string
	// Client returns the warmupd client; nil means a client for Socket.
	Client func() *api.Client

	// Socket is the --socket flag, else resolved by resolveTarget.
	Socket string
	// Server (HOST:PORT), MungeSocket and ServerUID select warmupd's TCP
	// door with MUNGE (resolveTarget); Server empty means the unix Socket.
	Server      string
	MungeSocket string
	ServerUID   uint32
	// Output holds the global output flags (--json, --noheader, --format).
	Output OutputOptions
}

// APIClient returns the client every command uses.
func (f *Factory) APIClient() *api.Client {
	if f.Client != nil {
		return f.Client()
	}
	return &api.Client{Socket: f.Socket, Server: f.Server, MungeSocket: f.MungeSocket, ServerUID: f.ServerUID}
}

// outputFlags are swarmup's global flags that choose how this one command
// prints; they are not keys of the configuration file. Every other global
// flag is (Socket, Server, MungeSocket, ServerUID).
var outputFlags = []string{"json", "noheader", "format"}

// resolveTarget decides where warmupd is, by the first of: --server,
// --socket, $WARMUPD_SERVER, $WARMUPD_SOCKET, the Server key, the Socket key
// of the configuration file (config.Find; a missing default file is fine),
// api.DefaultSocket. MungeSocket and ServerUID come from their flags, else
// the file. flags are the root's global flags: the environment sets them as
// a flag would, and config.Load then fills those not set, as in every tool.
// With a socket named by flag or environment, no file is read.
func (f *Factory) resolveTarget(flags *pflag.FlagSet) error {
	getenv := f.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	switch {
	case flags.Changed("server"):
	case flags.Changed("socket"):
		return nil
	case getenv(api.ServerEnv) != "":
		if err := flags.Set("server", getenv(api.ServerEnv)); err != nil {
			return fmt.Errorf("$%s: %w", api.ServerEnv, err)
		}
	case getenv(api.SocketEnv) != "":
		f.Socket = getenv(api.SocketEnv)
		return nil
	}
	path, optional := config.Find("", getenv)
	if err := config.Load(flags, path, optional, outputFlags...); err != nil {
		return fmt.Errorf("%w (fix the file, or point %s at another one)", err, config.PathEnv)
	}
	return nil
}
