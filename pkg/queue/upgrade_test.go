package queue_test

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// A store at schema 9 (before stale events and job arrays) migrates to the
// current schema keeping its warm dataset, unmarked, which events can then
// mark stale and whose warm-up can run as a job array.
func TestUpgradeFromSchema9(t *testing.T) {
	s, path := open(t)
	submit(t, s, 0, t0, "/jfs/ds")
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskWarm,
		Check: &queue.Check{Files: 1, Bytes: 1 << 30, CachedBytes: 1 << 30, Ratio: 1}}, t0))
	require.NoError(t, s.Close())
	db := rawDB(t, path)
	_, err = db.Exec(dropAfter9 + `DELETE FROM schema_migrations WHERE version > 9`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err = queue.Open(path, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	defer s.Close()
	ds, err := s.Datasets(ctx())
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, api.TaskWarm, ds[0].State)
	require.Nil(t, ds[0].StaleAt)
	require.Empty(t, ds[0].StaleReason)
	marked, err := s.MarkStale(ctx(), api.StaleChangelog, []queue.StaleMark{{Path: "/jfs/ds", Detail: "CREATE /jfs/ds/x"}}, t0.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds"}, marked)
	v, err := s.ChangelogCursor(ctx(), "sqlite3:///m.db")
	require.NoError(t, err)
	require.Zero(t, v)
	require.NoError(t, s.AddShardArray(ctx(), array(task.ID), t0))
}
