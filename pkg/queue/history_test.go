package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// PruneHistory deletes the jobs that ended before its cut (with their links
// and claims), the attempts that finished before it, each task's latest
// finished one kept (an open one may be withdrawn), and the requests made
// before it, batch after batch; jobs that have not ended, younger ones, the
// claims of those that stay (with their requests' ids), tasks and the cache
// status stay.
func TestPruneHistory(t *testing.T) {
	s, path := open(t)
	db := rawDB(t, path)
	for _, job := range []uint64{1, 2, 3} {
		_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a"}, UID: 1000, GID: 1000, JobID: job, Source: api.SourceSubmit, Now: t0})
		require.NoError(t, err)
	}
	// Two attempts: a retry, then warm.
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskQueued, Err: "timeout", Reason: "retry 2 of 3"}, t0.Add(time.Second)))
	task, err = s.Dequeue(ctx(), "w", t0.Add(time.Second), time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskWarm, Check: &queue.Check{Bytes: 8, CachedBytes: 8, Ratio: 1}}, t0.Add(time.Minute)))
	require.NoError(t, s.JobEnd(ctx(), 1, queue.JobEndParams{Node: "n1", Now: t0.Add(time.Hour)}))
	require.NoError(t, s.JobEnd(ctx(), 2, queue.JobEndParams{Node: "n1", Now: t0.Add(48 * time.Hour)}))
	// job 3 never ends (it is still pending)
	// A backlog of old ended jobs, more than one batch.
	_, err = db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
		INSERT INTO jobs (job_id, uid, state, submitted_at, ended_at) SELECT 1000 + i, 1000, 'ended', ?1, ?1 FROM n`, t0.UnixNano())
	require.NoError(t, err)
	// And of old attempts of the task (n 3 to 2502), then an open one.
	_, err = db.Exec(`WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 2502)
		INSERT INTO attempts (task_id, n, owner, started_at, finished_at, outcome) SELECT ?1, i, 'w', ?2, ?2, 'warm' FROM n`, task.ID, t0.UnixNano())
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO attempts (task_id, n, owner, started_at) VALUES (?, 2503, 'w', ?)`, task.ID, t0.UnixNano())
	require.NoError(t, err)
	// And of old requests (2 500, after the three above), then a young one.
	_, err = db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
		INSERT INTO requests (uid, gid, source, paths, created_at) SELECT 1000, 1000, 'manual', '["/jfs/a"]', ?1 FROM n`, t0.UnixNano())
	require.NoError(t, err)
	_, err = s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a"}, UID: 1000, GID: 1000, Source: api.SourceManual, Now: t0.Add(48 * time.Hour)})
	require.NoError(t, err)

	count := func(q string) int {
		var n int
		require.NoError(t, db.QueryRow(q).Scan(&n))
		return n
	}
	require.Equal(t, 3, count(`SELECT count(*) FROM job_tasks`))
	claims := count(`SELECT count(*) FROM claims`)

	got, err := s.PruneHistory(ctx(), t0.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, queue.HistoryPruned{Jobs: 2501, Attempts: 2501, Requests: 2503}, got)
	_, err = s.JobStatus(ctx(), 1)
	require.ErrorIs(t, err, queue.ErrNotFound, "job 1 ended before the cut")
	for _, job := range []uint64{2, 3} {
		st, err := s.JobStatus(ctx(), job)
		require.NoError(t, err, "job %d", job)
		require.Len(t, st.Datasets, 1, "job %d keeps its link", job)
	}
	require.Equal(t, 2, count(`SELECT count(*) FROM job_tasks`))
	require.Equal(t, claims-1, count(`SELECT count(*) FROM claims`), "job 1's claim went with it")
	require.Equal(t, 1, count(`SELECT count(*) FROM requests`), "the young request stays")
	require.Equal(t, 2, count(`SELECT count(*) FROM claims WHERE job_id IS NOT NULL AND request_id IS NOT NULL`),
		"jobs 2 and 3 keep their claims, which keep the ids of their pruned requests")
	require.Equal(t, 2502, count(`SELECT max(n) FROM attempts WHERE finished_at IS NOT NULL`), "the latest finished attempt stays")
	require.Equal(t, 2, count(`SELECT count(*) FROM attempts`), "it and the open one")
	es, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, api.TaskWarm, es[0].State, "the task and its cache status stay")
	require.Equal(t, 1.0, es[0].CachedRatio)

	got, err = s.PruneHistory(ctx(), t0.Add(24*time.Hour))
	require.NoError(t, err)
	require.Zero(t, got, "nothing older is left")
}

// The first task of an array job holds its sbatch token, from which each
// later task is linked to the datasets: that row stays while squeue still
// lists the token, however long ago it ended; another ended token row goes.
func TestPruneHistoryKeepsAnArraysToken(t *testing.T) {
	s, _ := open(t)
	for _, tok := range []string{"arr", "solo"} {
		_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/" + tok}, UID: 1000, GID: 1000, Token: tok, Source: api.SourceSubmit, Now: t0})
		require.NoError(t, err)
	}
	_, err := s.ObserveSlurmJobs(ctx(), []queue.SlurmJob{{JobID: 10, Token: "arr", State: "RUNNING"}, {JobID: 20, Token: "solo", State: "RUNNING"}}, t0)
	require.NoError(t, err)
	for _, job := range []uint64{10, 20} {
		require.NoError(t, s.JobEnd(ctx(), job, queue.JobEndParams{Node: "n1", Now: t0.Add(time.Hour)}))
	}
	// 40 days on, the rest of the array is still pending (throttled).
	later := t0.Add(40 * 24 * time.Hour)
	_, err = s.ObserveSlurmJobs(ctx(), []queue.SlurmJob{{JobID: 10, Token: "arr", State: "PENDING"}}, later)
	require.NoError(t, err)
	got, err := s.PruneHistory(ctx(), later.Add(-queue.DefaultHistoryRetention))
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Jobs, "only the solo job")
	_, err = s.JobStatus(ctx(), 20)
	require.ErrorIs(t, err, queue.ErrNotFound)

	st, err := s.JobStart(ctx(), 12, queue.JobStartParams{Token: "arr", Node: "n2", UID: 1000, Now: later})
	require.NoError(t, err)
	require.Len(t, st.Datasets, 1, "a later task of the array is linked from the first one's row")
	require.Equal(t, "/jfs/arr", st.Datasets[0].Path)
}

// The newest request stays however old it is: SQLite numbers a new row one
// past the largest id, so an emptied log would give a submission the id an
// older claim (and an earlier answer) still carries.
func TestPruneHistoryKeepsTheNewestRequest(t *testing.T) {
	s, _ := open(t)
	var last int64
	for i := range 3 {
		r, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a"}, UID: 1000, GID: 1000, Source: api.SourceManual, Now: t0.Add(time.Duration(i) * time.Second)})
		require.NoError(t, err)
		last = r.RequestID
	}
	got, err := s.PruneHistory(ctx(), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, queue.HistoryPruned{Requests: 2}, got)
	got, err = s.PruneHistory(ctx(), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, got)
	r, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/b"}, UID: 1000, GID: 1000, Source: api.SourceManual, Now: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Greater(t, r.RequestID, last, "no request id is given out twice")
}
