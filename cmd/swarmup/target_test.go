package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
)

// Where warmupd is: --server, --socket, $WARMUPD_SERVER, $WARMUPD_SOCKET,
// Server=, Socket=, in that order; MungeSocket and ServerUID come from
// their flags, else the file, whichever way the server was named.
func TestTargetPrecedence(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "accel-data.conf")
	require.NoError(t, os.WriteFile(conf, []byte("Socket=/conf.sock\nServer=conf:1\nMungeSocket=/conf/munge.sock\nServerUID=64030\nPrologWait=1m\n"), 0o644))
	cases := []struct {
		name         string
		args         []string
		env          map[string]string
		server, sock string
		munge        string
		uid          uint32
	}{
		{"file", nil, nil, "conf:1", "/conf.sock", "/conf/munge.sock", 64030},
		{"env socket beats the file", nil, map[string]string{api.SocketEnv: "/env.sock"}, "", "/env.sock", "", 0},
		{"env server beats env socket", nil, map[string]string{api.SocketEnv: "/env.sock", api.ServerEnv: "env:2"}, "env:2", "/run/warmupd/warmupd.sock", "/conf/munge.sock", 64030},
		{"--socket beats env server", []string{"--socket", "/flag.sock"}, map[string]string{api.ServerEnv: "env:2"}, "", "/flag.sock", "", 0},
		{"--server beats all", []string{"--server", "flag:3", "--socket", "/flag.sock", "--server-uid", "7"}, map[string]string{api.ServerEnv: "env:2"}, "flag:3", "/flag.sock", "/conf/munge.sock", 7},
		{"--munge-socket beats the file", []string{"--munge-socket", "/flag/munge.sock"}, nil, "conf:1", "/conf.sock", "/flag/munge.sock", 64030},
	}
	for _, c := range cases {
		f, _, _ := testFactory(t)
		env := map[string]string{config.PathEnv: conf}
		for k, v := range c.env {
			env[k] = v
		}
		f.Getenv = func(k string) string { return env[k] }
		var got *api.Client
		f.Client = func() *api.Client {
			got = &api.Client{Socket: f.Socket, Server: f.Server, MungeSocket: f.MungeSocket, ServerUID: f.ServerUID}
			return &api.Client{Socket: filepath.Join(t.TempDir(), "none.sock")}
		}
		Main(context.Background(), f, append([]string{"queue"}, c.args...))
		require.NotNil(t, got, c.name)
		require.Equal(t, c.server, got.Server, c.name)
		if c.server == "" {
			require.Equal(t, c.sock, got.Socket, c.name)
		}
		require.Equal(t, c.munge, got.MungeSocket, c.name)
		require.Equal(t, c.uid, got.ServerUID, c.name)
	}
}

// swarmup's global flags but the output ones are keys of the file, and the
// output ones cannot be set from it (the file is applied with config.Load,
// as in every tool).
func TestGlobalFlagsAreKeys(t *testing.T) {
	f, _, errOut := testFactory(t)
	root := NewCmdRoot(f)
	n := 0
	root.PersistentFlags().VisitAll(func(fl *pflag.Flag) {
		if slices.Contains(outputFlags, fl.Name) {
			require.False(t, config.IsKey(fl.Name), "--%s is an output flag, not a key", fl.Name)
			return
		}
		n++
		require.True(t, config.IsKey(fl.Name), "--%s is a key of pkg/config.Keys", fl.Name)
	})
	require.Equal(t, 4, n, "socket, server, munge-socket, server-uid")

	conf := filepath.Join(t.TempDir(), "accel-data.conf")
	require.NoError(t, os.WriteFile(conf, []byte("Json=true\n"), 0o644))
	f.Getenv = func(k string) string { return map[string]string{config.PathEnv: conf}[k] }
	require.Equal(t, exitError, Main(context.Background(), f, []string{"datasets"}))
	require.Contains(t, errOut.String(), conf+`:1: unknown key "Json"`)
}
