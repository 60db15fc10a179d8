package api_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// crashingDaemon accepts connections and closes them at once, like a warmupd
// killed in the middle of a call.
func crashingDaemon(t *testing.T) string {
	sock := filepath.Join(t.TempDir(), "crash.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return sock
}

// Every way of not getting an answer is DaemonDownError (swarmup exit 3,
// the prolog tries again); the caller's own deadline stays its own error.
func TestUnavailableDaemonIsDaemonDown(t *testing.T) {
	ctx := context.Background()

	c := &api.Client{Socket: testutil.HungDaemon(t), ResponseTimeout: 300 * time.Millisecond}
	start := time.Now()
	_, err := c.Queue(ctx, false)
	require.True(t, api.IsDaemonDown(err), "a hung daemon: %v", err)
	require.Contains(t, err.Error(), "no answer within 300ms")
	require.Less(t, time.Since(start), 10*time.Second)

	c = &api.Client{Socket: crashingDaemon(t)}
	_, err = c.Queue(ctx, false)
	require.True(t, api.IsDaemonDown(err), "a connection closed by a crash: %v", err)

	c = &api.Client{Socket: filepath.Join(t.TempDir(), "none.sock")}
	_, err = c.Queue(ctx, false)
	require.True(t, api.IsDaemonDown(err), "nothing listening: %v", err)
	require.Contains(t, err.Error(), "no such file or directory")

	// The caller's deadline, shorter than the response timeout, is not "down".
	c = &api.Client{Socket: testutil.HungDaemon(t)}
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = c.Queue(dctx, false)
	require.False(t, api.IsDaemonDown(err), "%v", err)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}

// Only net/http's plain 404 of an unknown route (a warmupd older than the
// long poll) says "poll instead"; warmupd's own 404 (an unknown job) does not.
func TestIsNoLongPoll(t *testing.T) {
	require.True(t, api.IsNoLongPoll(&api.StatusError{Code: 404, Message: "HTTP 404: 404 page not found"}))
	require.True(t, api.IsNoLongPoll(&api.StatusError{Code: 405, Message: "HTTP 405: Method Not Allowed"}))
	require.False(t, api.IsNoLongPoll(&api.StatusError{Code: 404, Message: "queue: no job 5"}))
	require.False(t, api.IsNoLongPoll(nil))
}
