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

// resolveTarget decides where warmupd is, by the first of: --server,
// --socket, $WARMUPD_SERVER, $WARMUPD_SOCKET, the Server key, the Socket key
// of the shared configuration file ($ACCEL_DATA_CONF or
// /etc/slurm/accel-data.conf, optional), api.DefaultSocket. With a server,
// MungeSocket and ServerUID come from their flags, else the file.
func (f *Factory) resolveTarget(changed func(flag string) bool) error {
	getenv := f.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	switch {
	case changed("server"):
		return f.loadKeys(changed, false)
	case changed("socket"):
		return nil
	}
	if s := getenv(api.ServerEnv); s != "" {
		f.Server = s
		return f.loadKeys(changed, false)
	}
	if s := getenv(api.SocketEnv); s != "" {
		f.Socket = s
		return nil
	}
	return f.loadKeys(changed, true)
}

// loadKeys reads the client keys of the configuration file into f, except
// those whose flag was given; target says whether Server and Socket too.
func (f *Factory) loadKeys(changed func(string) bool, target bool) error {
	getenv := f.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	path := config.DefaultPath
	if p := getenv(config.PathEnv); p != "" {
		path = p
	}
	fs := pflag.NewFlagSet("swarmup-config", pflag.ContinueOnError)
	sock := fs.String("socket", f.Socket, "")
	server := fs.String("server", f.Server, "")
	msock := fs.String("munge-socket", f.MungeSocket, "")
	suid := fs.Uint32("server-uid", f.ServerUID, "")
	if err := config.Load(fs, path, true); err != nil {
		return fmt.Errorf("%w (fix the file, or point %s at another one)", err, config.PathEnv)
	}
	if target {
		f.Socket, f.Server = *sock, *server
	}
	if !changed("munge-socket") {
		f.MungeSocket = *msock
	}
	if !changed("server-uid") {
		f.ServerUID = *suid
	}
	return nil
}
