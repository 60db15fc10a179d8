package server

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// An agent's report of cache misses on a warm dataset marks it stale in the
// cache status table and hands it to the Stale hook (the cache manager
// refreshes it); a second report marks nothing new. Only root may report.
func TestMissReportMarksWarmDatasetStale(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	ds := r.ds("ds1")
	r.ok(&user, "POST", "/v1/requests", jsonOf(t, api.SubmitRequest{Paths: []string{ds}}), nil)
	task, err := r.store.Dequeue(ctx, "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, r.store.Finish(ctx, task.ID, "w", queue.Outcome{State: api.TaskWarm,
		Check: &queue.Check{Files: 2, Bytes: 1 << 30, CachedBytes: 1 << 30, Ratio: 1}}, t0.Add(-time.Hour)))

	rep := api.AccessReport{Node: "gpu1", Mount: r.mnt, Jobs: []api.JobAccess{{JobID: 42, HitBytes: 1 << 20, MissBytes: 512 << 20,
		Paths: []api.PathAccess{{Dataset: ds, Subpath: ".", Bytes: 513 << 20, DistinctBytes: 513 << 20, Files: 2, First: t0, Last: t0}}}}}
	code, _ := r.call(&user, "POST", "/v1/access", jsonOf(t, rep))
	require.Equal(t, 403, code)
	var resp api.AccessResponse
	r.ok(&root, "POST", "/v1/access", jsonOf(t, rep), &resp)
	require.Equal(t, 1, resp.Jobs)
	r.ok(&root, "POST", "/v1/access", jsonOf(t, rep), &resp)
	r.mu.Lock()
	require.Equal(t, []string{ds}, r.stale, "told once")
	r.mu.Unlock()

	var list api.DatasetsResponse
	r.ok(&user, "GET", "/v1/datasets", "", &list)
	require.Len(t, list.Datasets, 1)
	d := list.Datasets[0]
	require.Equal(t, api.StaleMissReport, d.StaleReason)
	require.Equal(t, t0, d.StaleAt.UTC())
	require.Contains(t, d.StaleDetail, "job 42 on gpu1")
}
