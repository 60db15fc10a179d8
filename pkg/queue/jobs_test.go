package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestTokenSubmitThenJobStartBindsJobID(t *testing.T) {
	s, _ := open(t)
	// sbatch time: the plugin knows the token, not the job id.
	r, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a", "/jfs/b"}, UID: 1000, GID: 100, Token: "tok-1", Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	require.Positive(t, r.RequestID)
	_, err = s.JobStatus(ctx(), 42)
	require.ErrorIs(t, err, queue.ErrNotFound)

	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	for _, e := range es {
		require.Equal(t, 1, e.JobsWaiting, "a submitted job waits for %s", e.Dataset)
		require.Equal(t, api.SourceSubmit, e.Source)
	}

	st, err := s.JobStart(ctx(), 42, queue.JobStartParams{Token: "tok-1", Paths: []string{"/jfs/a", "/jfs/b"}, Node: "gpu01", UID: 1000, Now: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Equal(t, uint64(42), st.JobID)
	require.Equal(t, api.JobStarted, st.State)
	require.False(t, st.Ready)
	require.False(t, st.Warm)
	require.Len(t, st.Datasets, 2)
	require.Equal(t, "/jfs/a", st.Datasets[0].Path)

	counts, err := s.Counts(ctx())
	require.NoError(t, err)
	require.Equal(t, 2, counts[api.TaskQueued], "the prolog's paths joined the submitted tasks, no new work")

	// Warm one, fail the other: ready but not warm.
	a, err := s.Dequeue(ctx(), "w", t0.Add(time.Minute), time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), a.ID, "w", queue.Outcome{State: api.TaskWarm, Check: &queue.Check{Bytes: 8, CachedBytes: 8, Ratio: 1}}, t0.Add(2*time.Minute)))
	st, err = s.JobStatus(ctx(), 42)
	require.NoError(t, err)
	require.False(t, st.Ready)
	b, err := s.Dequeue(ctx(), "w", t0.Add(2*time.Minute), time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), b.ID, "w", queue.Outcome{State: api.TaskFailed, Err: "EIO"}, t0.Add(3*time.Minute)))
	st, err = s.JobStatus(ctx(), 42)
	require.NoError(t, err)
	require.True(t, st.Ready)
	require.False(t, st.Warm)

	// A second node's prolog changes nothing.
	st2, err := s.JobStart(ctx(), 42, queue.JobStartParams{Token: "tok-1", Paths: []string{"/jfs/a", "/jfs/b"}, Node: "gpu02", UID: 1000, Now: t0.Add(3 * time.Minute)})
	require.NoError(t, err)
	require.Equal(t, st, st2)

	require.NoError(t, s.JobEnd(ctx(), 42, queue.JobEndParams{Node: "gpu01", ExitCode: 0, Reason: "epilog", Now: t0.Add(time.Hour)}))
	st, err = s.JobStatus(ctx(), 42)
	require.NoError(t, err)
	require.Equal(t, api.JobEnded, st.State)
	es, err = s.Queue(ctx(), true)
	require.NoError(t, err)
	for _, e := range es {
		require.Equal(t, 0, e.JobsWaiting, "an ended job waits for nothing")
	}
	require.ErrorIs(t, s.JobEnd(ctx(), 43, queue.JobEndParams{Now: t0}), queue.ErrNotFound)
}

func TestJobStartWithoutSubmitSubmitsAsProlog(t *testing.T) {
	s, _ := open(t)
	submit(t, s, 1, t0, "/jfs/shared") // someone else's queued task
	st, err := s.JobStart(ctx(), 7, queue.JobStartParams{Paths: []string{"/jfs/shared/part", "/jfs/own"}, Node: "gpu01", UID: 2000, Now: t0})
	require.NoError(t, err)
	require.Equal(t, api.JobStarted, st.State)
	require.Len(t, st.Datasets, 2)
	byPath := map[string]api.JobDataset{}
	for _, d := range st.Datasets {
		byPath[d.Path] = d
	}
	require.Equal(t, "/jfs/shared", byPath["/jfs/shared/part"].Dataset, "covered by the queued parent")
	require.Equal(t, "/jfs/own", byPath["/jfs/own"].Dataset)
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	for _, e := range es {
		if e.Dataset == "/jfs/own" {
			require.Equal(t, api.SourceProlog, e.Source)
			require.Equal(t, uint32(2000), e.Owner)
		}
		require.Equal(t, 1, e.JobsWaiting)
	}

	// A job with no paths and no token still gets a record; it is ready at once.
	st, err = s.JobStart(ctx(), 8, queue.JobStartParams{Node: "gpu01", UID: 2000, Now: t0})
	require.NoError(t, err)
	require.True(t, st.Ready)
	require.Empty(t, st.Datasets)
	_, err = s.JobStart(ctx(), 0, queue.JobStartParams{Now: t0})
	require.ErrorContains(t, err, "job id 0")
}

func TestJobStartBumpsUseScore(t *testing.T) {
	s, path := open(t)
	start := func(job uint64, at time.Time) {
		_, err := s.JobStart(ctx(), job, queue.JobStartParams{Paths: []string{"/jfs/ds"}, UID: 1, Now: at})
		require.NoError(t, err)
	}
	start(1, t0)
	start(1, t0.Add(time.Hour)) // same job on a second node: not another use
	start(2, t0.Add(queue.UseHalfLife))
	ds, err := s.Datasets(ctx())
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, t0.Add(queue.UseHalfLife), *ds[0].LastUsedAt)
	require.Equal(t, 2, ds[0].JobsRunning)
	require.Equal(t, 0, ds[0].JobsQueued)
	var score float64
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT use_score FROM datasets WHERE path = '/jfs/ds'`).Scan(&score))
	require.InDelta(t, 1.5, score, 1e-9, "1 halved over one half-life, plus 1")
	require.InDelta(t, 0.25, queue.DecayedScore(1, t0, t0.Add(2*queue.UseHalfLife)), 1e-9)
}

func TestSubmitWithJobIDLinksJob(t *testing.T) {
	s, _ := open(t)
	r, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/x"}, UID: 5, JobID: 99, Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	st, err := s.JobStatus(ctx(), 99)
	require.NoError(t, err)
	require.Equal(t, api.JobSubmitted, st.State)
	require.Len(t, st.Datasets, 1)
	require.Equal(t, r.Items[0].TaskID, mustTaskID(t, s, "/jfs/x"))
}

func mustTaskID(t *testing.T, s *queue.Store, path string) int64 {
	t.Helper()
	es, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	for _, e := range es {
		if e.Dataset == path {
			return e.TaskID
		}
	}
	t.Fatalf("no task for %s", path)
	return 0
}
