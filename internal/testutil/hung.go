package testutil

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
)

// HungDaemon listens on a unix socket, accepts connections and never
// answers, like a warmupd that hangs (kill -STOP, a stuck disk); it returns
// the socket's path. Everything is closed when the test ends.
func HungDaemon(t testing.TB) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "hung.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	return sock
}
