package queue_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// A store at schema 9 (before stale events and job arrays) migrates to the
// current schema keeping its warm dataset, unmarked and due for re-checks,
// which events can then mark stale and whose warm-up can run as a job array.
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
	cands, err := s.CheckCandidates(ctx(), 10)
	require.NoError(t, err)
	require.Len(t, cands, 1, "migration 0015 marks the warm dataset checkable")
	marked, err := s.MarkStale(ctx(), api.StaleChangelog, []queue.StaleMark{{Path: "/jfs/ds", Detail: "CREATE /jfs/ds/x"}}, t0.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds"}, marked)
	v, err := s.ChangelogCursor(ctx(), "sqlite3:///m.db")
	require.NoError(t, err)
	require.Zero(t, v)
	require.NoError(t, s.AddShardArray(ctx(), array(task.ID), t0))
}

// Migration 0014 rebuilds claims without the foreign key to requests (so
// that pruning the requests log costs no scan of claims), keeping every
// claim as it was; the requests they name can then be pruned.
func TestUpgradeDropsTheClaimsKeyToRequests(t *testing.T) {
	s, path := open(t)
	_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a", "/jfs/b"}, UID: 1000, GID: 1000, JobID: 7, Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	// Back to schema 13: claims as migration 0005 made them.
	mig, err := os.ReadFile("migrations/0014_claims_requests.sql")
	require.NoError(t, err)
	old := strings.Replace(string(mig), "request_id INTEGER,", "request_id INTEGER REFERENCES requests (id) ON DELETE SET NULL,", 1)
	require.NotEqual(t, string(mig), old)
	db := rawDB(t, path)
	claims := func() []string {
		return column(t, db, `SELECT id || ' ' || task_id || ' ' || path || ' ' || uid || ' ' || source || ' ' ||
			coalesce(job_id, '') || ' ' || coalesce(request_id, '') || ' ' || created_at FROM claims ORDER BY id`)
	}
	keys := func() []string {
		return column(t, db, `SELECT "table" FROM pragma_foreign_key_list('claims') ORDER BY 1`)
	}
	_, err = db.Exec(old + `DELETE FROM schema_migrations WHERE version = 14`)
	require.NoError(t, err)
	require.Equal(t, []string{"jobs", "requests", "tasks"}, keys())
	before := claims()
	require.Len(t, before, 2)
	require.NoError(t, db.Close())

	s, err = queue.Open(path, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	defer s.Close()
	db = rawDB(t, path)
	require.Equal(t, []string{"jobs", "tasks"}, keys())
	require.Equal(t, before, claims())
	_, err = s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/c"}, UID: 1000, GID: 1000, Source: api.SourceManual, Now: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	got, err := s.PruneHistory(ctx(), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, queue.HistoryPruned{Requests: 1}, got, "the pending job's claims stay; its request goes")
	require.Equal(t, before, claims()[:2])
	st, err := s.JobStatus(ctx(), 7)
	require.NoError(t, err)
	require.Len(t, st.Datasets, 2)
}
