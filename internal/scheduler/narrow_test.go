package scheduler

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// With history, the subdirectories jobs read are warmed before the whole
// dataset; without, the dataset at once, as before.
func TestNarrowedWarmupWarmsHotSubpathsFirst(t *testing.T) {
	asked := []string{}
	narrow := func(_ context.Context, ds string) ([]string, string) {
		asked = append(asked, ds)
		if ds == "/jfs/ds" {
			return []string{"/jfs/ds/train", "/jfs/ds/aux"}, "2 of 40 subdirectories, 38 % of bytes"
		}
		return nil, ""
	}
	r := newRig(t, newDriver(0, gib, 1), Config{Narrow: narrow})
	id := r.submit("/jfs/ds")
	r.attempt()
	require.Equal(t, api.TaskWarm, r.entry(id).State)
	require.Equal(t, [][]string{{"/jfs/ds/train", "/jfs/ds/aux"}, {"/jfs/ds"}}, r.drv.warmed)

	r2 := newRig(t, newDriver(0, gib, 1), Config{Narrow: narrow})
	r2.submit("/jfs/other")
	r2.attempt()
	require.Equal(t, [][]string{{"/jfs/other"}}, r2.drv.warmed)
	require.Equal(t, []string{"/jfs/ds", "/jfs/other"}, asked)
}

// Once the subdirectories jobs read are verified warm, a job waiting for the
// dataset is ready while the rest still warms; a later attempt does not
// inherit it.
func TestNarrowedWarmupMakesWaitingJobsReady(t *testing.T) {
	drv := newDriver(0, gib, 1)
	drv.block, drv.blockAt = true, 2 // the hot part warms, the whole dataset runs until stopped
	r := newRig(t, drv, Config{Narrow: func(context.Context, string) ([]string, string) {
		return []string{"/jfs/ds/train"}, "1 of 2 subdirectories, 2 % of bytes"
	}})
	ctx := context.Background()
	_, err := r.store.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/ds"}, UID: 1000, Token: "tok", JobID: 7, Source: api.SourceSubmit, Now: r.clk.Now()})
	require.NoError(t, err)
	_, err = r.store.JobStart(ctx, 7, queue.JobStartParams{Token: "tok", Node: "n1", UID: 1000, Now: r.clk.Now()})
	require.NoError(t, err)
	st, err := r.store.JobStatus(ctx, 7)
	require.NoError(t, err)
	require.False(t, st.Ready)

	task := r.dequeue()
	wctx, cancel := context.WithCancel(ctx)
	done := r.goWork(wctx, task)
	<-drv.started // the hot part
	<-drv.started // the whole dataset, blocked
	st, err = r.store.JobStatus(ctx, 7)
	require.NoError(t, err)
	require.Equal(t, api.TaskWarming, st.Datasets[0].State)
	require.True(t, st.Datasets[0].HotReady)
	require.True(t, st.Ready, "the job may start: what jobs read is warm")
	require.False(t, st.Warm)
	require.Equal(t, "narrowed: 1 of 2 subdirectories, 2 % of bytes", r.entry(task.ID).Reason, "swarmup says so")
	cancel() // shutdown: the task goes back to the queue
	<-done
	require.NoError(t, r.store.ReleaseLeases(ctx, r.s.Owner()))
	st, err = r.store.JobStatus(ctx, 7)
	require.NoError(t, err)
	require.False(t, st.Ready, "queued again: the mark of the earlier attempt does not count")
}
