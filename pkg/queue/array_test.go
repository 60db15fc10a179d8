package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// The tasks of an array job share one sbatch token: each task's prolog
// gets its own job, linked to the same datasets.
func TestArrayTasksShareTheSubmissionToken(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/ds"}, UID: 1000, Token: "tok", Source: api.SourceSubmit, Now: now})
	require.NoError(t, err)
	for _, id := range []uint64{501, 502, 503} {
		st, err := s.JobStart(ctx, id, queue.JobStartParams{Token: "tok", Node: "n1", UID: 1000, Now: now.Add(time.Minute)})
		require.NoError(t, err, "array task %d", id)
		require.Equal(t, id, st.JobID)
		require.Len(t, st.Datasets, 1)
		require.Equal(t, "/jfs/ds", st.Datasets[0].Dataset)
	}
	q, err := s.Queue(ctx, false)
	require.NoError(t, err)
	require.Len(t, q, 1)
	require.Equal(t, 3, q[0].JobsWaiting, "three array tasks wait for one dataset")
	require.NoError(t, s.JobEnd(ctx, 502, queue.JobEndParams{Node: "n1", Now: now.Add(2 * time.Minute)}))
	q, err = s.Queue(ctx, false)
	require.NoError(t, err)
	require.Equal(t, 2, q[0].JobsWaiting)
}

// When the last job that asked for a still-queued dataset ends, nobody
// wants it: the task is cancelled. A manual request is kept.
func TestJobEndCancelsUnneededQueuedTasks(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	for _, p := range []struct {
		path, token string
		src         api.Source
	}{{"/jfs/a", "t1", api.SourceSubmit}, {"/jfs/a", "t2", api.SourceSubmit}, {"/jfs/m", "t3", api.SourceManual}} {
		_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{p.path}, UID: 1, Token: p.token, Source: p.src, Now: now})
		require.NoError(t, err)
	}
	for i, tok := range []string{"t1", "t2", "t3"} {
		_, err := s.JobStart(ctx, uint64(10+i), queue.JobStartParams{Token: tok, Node: "n1", UID: 1, Now: now})
		require.NoError(t, err)
	}
	require.NoError(t, s.JobEnd(ctx, 10, queue.JobEndParams{Now: now}))
	state := func(path string) api.TaskState {
		q, err := s.Queue(ctx, true)
		require.NoError(t, err)
		for _, e := range q {
			if e.Dataset == path {
				return e.State
			}
		}
		return ""
	}
	require.Equal(t, api.TaskQueued, state("/jfs/a"), "job 11 still needs it")
	require.NoError(t, s.JobEnd(ctx, 11, queue.JobEndParams{Now: now}))
	require.Equal(t, api.TaskCancelled, state("/jfs/a"), "no job needs it any more")
	require.NoError(t, s.JobEnd(ctx, 12, queue.JobEndParams{Now: now}))
	require.Equal(t, api.TaskQueued, state("/jfs/m"), "a manual request stays")
}
