package integration

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// warmupd deletes the jobs that ended more than HistoryRetention ago, on
// its own, and keeps the jobs still pending and the data they warmed.
func TestWarmupdPrunesEndedJobs(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds", 2, 64<<10)
	d := testutil.StartWarmupd(t, v, "--history-retention=2s")
	ctx := context.Background()
	ds := filepath.Join(v.Mount, "ds")
	for _, job := range []uint64{4242, 4343} {
		_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}, JobID: job, Source: api.SourceSubmit})
		require.NoError(t, err)
	}
	d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool { return len(es) == 1 && es[0].State == api.TaskWarm })
	_, err := d.Client.JobStart(ctx, 4242, api.JobStartRequest{Paths: []string{ds}, Node: "n1"})
	require.NoError(t, err)
	require.NoError(t, d.Client.JobEnd(ctx, 4242, api.JobEndRequest{Node: "n1"}))
	_, err = d.Client.JobStatus(ctx, 4242)
	require.NoError(t, err, "ended a moment ago: still known")

	var se *api.StatusError
	require.Eventually(t, func() bool {
		_, err := d.Client.JobStatus(ctx, 4242)
		return errors.As(err, &se) && se.Code == 404
	}, 30*time.Second, 100*time.Millisecond, "job 4242 ended over 2 s ago and is never pruned")
	require.Positive(t, d.CountLogs("deleted the ended jobs, finished attempts and requests older than --history-retention"))
	st, err := d.Client.JobStatus(ctx, 4343)
	require.NoError(t, err, "a pending job is never pruned")
	require.Len(t, st.Datasets, 1)
	require.True(t, st.Warm)
	es, err := d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Len(t, es.Entries, 1)
	require.Equal(t, api.TaskWarm, es.Entries[0].State, "the data and its cache status stay")
}
