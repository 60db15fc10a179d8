package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestObserveSlurmJobs(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	for _, x := range []struct{ path, token string }{{"/jfs/soon", "aa"}, {"/jfs/later", "bb"}, {"/jfs/gone", "cc"}} {
		_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{x.path}, UID: 1000, Token: x.token, Source: api.SourceSubmit, Now: now})
		require.NoError(t, err)
	}
	soon, later := now.Add(10*time.Minute), now.Add(72*time.Hour)
	ended, err := s.ObserveSlurmJobs(ctx, []queue.SlurmJob{
		{JobID: 11, Token: "aa", State: "PENDING", ExpectedStart: soon},
		{JobID: 12, Token: "bb", State: "PENDING", ExpectedStart: later},
		{JobID: 13, Token: "cc", State: "CANCELLED"},
		{JobID: 14, Token: "zz", State: "PENDING", ExpectedStart: soon}, // not ours
	}, now)
	require.NoError(t, err)
	require.Equal(t, 1, ended)

	st, err := s.JobStatus(ctx, 11)
	require.NoError(t, err, "the token is bound to the Slurm job id")
	require.Equal(t, api.JobSubmitted, st.State)
	_, err = s.JobStatus(ctx, 14)
	require.ErrorIs(t, err, queue.ErrNotFound, "unknown tokens create nothing")

	ds, err := s.PlanDatasets(ctx, now)
	require.NoError(t, err)
	starts := map[string][]time.Time{}
	for _, d := range ds {
		starts[d.Path] = d.PendingStarts
	}
	require.Equal(t, []time.Time{soon.UTC()}, starts["/jfs/soon"])
	require.Equal(t, []time.Time{later.UTC()}, starts["/jfs/later"])
	_, listed := starts["/jfs/gone"]
	require.False(t, listed, "its only job left the queue: the task was cancelled")

	q, err := s.Queue(ctx, true)
	require.NoError(t, err)
	for _, e := range q {
		if e.Dataset == "/jfs/gone" {
			require.Equal(t, api.TaskCancelled, e.State)
			require.Contains(t, e.Reason, "no job needs it")
		}
	}

	// Observing again changes nothing; a started job is never ended by squeue.
	_, err = s.JobStart(ctx, 11, queue.JobStartParams{Token: "aa", Node: "n1", UID: 1000, Now: now})
	require.NoError(t, err)
	ended, err = s.ObserveSlurmJobs(ctx, []queue.SlurmJob{{JobID: 11, Token: "aa", State: "COMPLETED"}, {JobID: 13, Token: "cc", State: "CANCELLED"}}, now)
	require.NoError(t, err)
	require.Zero(t, ended, "the epilog ends jobs that ran")
}
