package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// prologBinary builds this command once per test process.
func prologBinary(t *testing.T) string {
	t.Helper()
	return testutil.Binary(t, "cmd/slurm-prolog")
}

// hungDaemon listens on a unix socket, accepts connections and never
// answers, like a warmupd that hangs; it returns the socket's path.
func hungDaemon(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "hung.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	return sock
}
