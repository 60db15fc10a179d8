// Package queuetest opens real queue stores for the tests of the packages
// built on pkg/queue, and reads them back.
package queuetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Open opens a store on a fresh file in t.TempDir, logging to the test, and
// closes it when the test ends.
func Open(t testing.TB) *queue.Store {
	t.Helper()
	return OpenFile(t, filepath.Join(t.TempDir(), "warmupd.db"))
}

// OpenFile is Open on the file at path.
func OpenFile(t testing.TB, path string) *queue.Store {
	t.Helper()
	s, err := queue.Open(path, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// Entry is task id's row in the queue listing (terminal tasks included); it
// fails the test when the task is not listed.
func Entry(t testing.TB, s *queue.Store, id int64) api.QueueEntry {
	t.Helper()
	es, err := s.Queue(context.Background(), true)
	require.NoError(t, err)
	for _, e := range es {
		if e.TaskID == id {
			return e
		}
	}
	t.Fatalf("task %d not in the queue listing", id)
	return api.QueueEntry{}
}
