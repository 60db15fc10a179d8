package queue_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil/dbfault"
	"github.com/accel-data/accel-data/pkg/queue"
)

// filledStore writes a real database with n datasets through the store and
// closes it, so that everything is in the main file.
func filledStore(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warmupd.db")
	s, err := queue.Open(path, zerolog.Nop())
	require.NoError(t, err)
	for i := range n {
		submit(t, s, 1000, t0, fmt.Sprintf("/jfs/datasets/%s-%04d", strings.Repeat("x", 60), i))
	}
	require.NoError(t, s.Close())
	return path
}

// One damaged page: Open refuses, with the restore hint of a garbage file.
func TestDamagedPageIsRefusedAtOpen(t *testing.T) {
	path := filledStore(t, 300)
	dbfault.CorruptRootPage(t, path, "datasets")
	_, err := queue.Open(path, zerolog.Nop())
	require.Error(t, err)
	require.True(t, queue.IsDamaged(err), "%v", err)
	require.Contains(t, err.Error(), "is not a usable warmupd database")
	require.Contains(t, err.Error(), "restore it from a backup")
	require.Contains(t, err.Error(), "move it aside, remove "+queue.MarkerPath(path))
}

// safeBuffer is a log sink shared with the store's goroutines.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A page damaged while warmupd runs: every call that reads it fails as
// DamagedError, Damaged reports it (for /v1/health), and the log says so
// once, not once per failing call.
func TestDamageWhileRunningIsReportedOnce(t *testing.T) {
	path := filledStore(t, 300)
	var logs safeBuffer
	s, err := queue.Open(path, zerolog.New(&logs))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Damaged())
	dbfault.CorruptRootPage(t, path, "datasets")

	for range 20 {
		_, err := s.Datasets(context.Background())
		require.Error(t, err)
		require.True(t, queue.IsDamaged(err), "%v", err)
		require.Contains(t, err.Error(), "restore it from a backup")
	}
	require.Error(t, s.Damaged())
	require.Contains(t, s.Damaged().Error(), "database disk image is malformed")
	require.Equal(t, 1, strings.Count(logs.String(), "database is damaged"), "logged once:\n%s", logs.String())
	_, err = s.Queue(context.Background(), true)
	require.True(t, err == nil || queue.IsDamaged(err), "%v", err)
	require.Equal(t, 1, strings.Count(logs.String(), "database is damaged"))
}

// A database found missing or empty where warmupd kept one is not a silent
// fresh start: Open refuses and names the file and the way out, unless
// AllowEmpty says to start empty (logged as an error).
func TestLostDatabaseIsRefused(t *testing.T) {
	path := filledStore(t, 3)
	require.FileExists(t, queue.MarkerPath(path))
	for _, f := range []string{path + "-wal", path + "-shm"} {
		_ = os.Remove(f)
	}
	require.NoError(t, os.Truncate(path, 0))
	_, err := queue.Open(path, zerolog.Nop())
	require.Error(t, err)
	require.Contains(t, err.Error(), path+" is empty (0 bytes)")
	require.Contains(t, err.Error(), "Restore it from a backup")
	require.Contains(t, err.Error(), "remove "+queue.MarkerPath(path))
	require.Contains(t, err.Error(), "--allow-empty-database")

	require.NoError(t, os.Remove(path))
	_, err = queue.Open(path, zerolog.Nop())
	require.ErrorContains(t, err, path+" is missing")

	var logs safeBuffer
	s, err := queue.OpenWith(path, zerolog.New(&logs), queue.Options{AllowEmpty: true})
	require.NoError(t, err)
	es, err := s.Queue(context.Background(), true)
	require.NoError(t, err)
	require.Empty(t, es)
	require.NoError(t, s.Close())
	require.Contains(t, logs.String(), `"level":"error"`)
	require.Contains(t, logs.String(), "starting with an EMPTY queue")
	require.FileExists(t, queue.MarkerPath(path), "the new database is marked in turn")

	// A first start (no marker) is a plain fresh start.
	fresh := filepath.Join(t.TempDir(), "warmupd.db")
	s, err = queue.Open(fresh, zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.FileExists(t, queue.MarkerPath(fresh))
}
