package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
)

// narrowRestRig is a rig whose dataset /jfs/ds holds 1 GiB jobs read
// (/jfs/ds/train, what Narrow names) and 9 GiB more, none cached, with
// NarrowRestIdle as given; a job (7) waits for it in its prolog.
func narrowRestRig(t *testing.T, idle bool) (*rig, int64) {
	t.Helper()
	drv := newDriver(0, gib, 1)
	drv.root, drv.rest = "/jfs/ds", 9*gib
	r := newRig(t, drv, Config{NarrowRestIdle: idle, Narrow: func(context.Context, string) ([]string, string) {
		return []string{"/jfs/ds/train"}, "1 of 10 subdirectories, 10 % of bytes"
	}})
	ctx := context.Background()
	resp, err := r.store.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/ds"}, UID: 1000, Token: "tok", JobID: 7, Source: api.SourceSubmit, Now: r.clk.Now()})
	require.NoError(t, err)
	_, err = r.store.JobStart(ctx, 7, queue.JobStartParams{Token: "tok", Node: "n1", UID: 1000, Now: r.clk.Now()})
	require.NoError(t, err)
	return r, resp.Items[0].TaskID
}

// With NarrowRest=idle, a narrowed warm-up ends once what jobs read is
// verified warm: the job may start, the rest is not warmed in the same run,
// and the dataset is not called warm (partial, with the reason).
func TestNarrowRestIdleLeavesTheRestForLater(t *testing.T) {
	r, id := narrowRestRig(t, true)
	r.attempt()
	require.Equal(t, [][]string{{"/jfs/ds/train"}}, r.drv.warmed, "only the subdirectories jobs read")
	e := r.entry(id)
	require.Equal(t, api.TaskPartial, e.State)
	require.Equal(t, "narrowed: the rest waits for room", e.Reason)
	require.Equal(t, int64(10*gib), e.Bytes)
	require.Equal(t, int64(gib), e.CachedBytes, "the cache table says what is cached")
	st, err := r.store.JobStatus(context.Background(), 7)
	require.NoError(t, err)
	require.True(t, st.Ready, "the job may start: what it reads is warm")
	require.False(t, st.Warm, "the dataset is not warm")
}

// With NarrowRest=now (the default), the rest follows at once, as before.
func TestNarrowRestNowWarmsTheRestAtOnce(t *testing.T) {
	r, id := narrowRestRig(t, false)
	r.attempt()
	require.Equal(t, [][]string{{"/jfs/ds/train"}, {"/jfs/ds"}}, r.drv.warmed)
	require.Equal(t, api.TaskWarm, r.entry(id).State)
}

// The rest left waiting is what the planner's active warm-up takes in an
// idle window when the cache has room and no passive warm-up waits; that
// task (source active) warms the whole dataset.
func TestNarrowRestIdleRestTakenByActiveWarmup(t *testing.T) {
	r, id := narrowRestRig(t, true)
	ctx := context.Background()
	r.attempt()
	require.Equal(t, api.TaskPartial, r.entry(id).State)
	require.NoError(t, r.store.JobEnd(ctx, 7, queue.JobEndParams{Node: "n1", Now: r.clk.Now()}))

	cfg := planner.DefaultConfig()
	cfg.ActiveWindows = []planner.Window{{Start: 0, End: 24 * time.Hour}}
	cfg.ActiveBudgetBytes, cfg.ActiveMinHistory = 100*gib, 0
	plan := func(capacity int64) planner.Decision {
		ds, err := r.store.PlanDatasets(ctx, r.clk.Now())
		require.NoError(t, err)
		return planner.Plan(planner.Snapshot{Datasets: ds, CapacityBytes: capacity, UsedBytes: gib, FreeSlots: 1}, cfg, r.clk.Now())
	}
	full := plan(2 * gib)
	require.Empty(t, full.Active, "no room for the rest")
	require.Equal(t, "nothing worth warming fits the budget and free space", full.ActiveReason)
	d := plan(20 * gib)
	require.Len(t, d.Active, 1, d.ActiveReason)
	require.Equal(t, "/jfs/ds", d.Active[0].Path)
	require.Equal(t, int64(9*gib), d.Active[0].Bytes, "the rest")

	// As the cache manager queues it.
	resp, err := r.store.Submit(ctx, queue.SubmitParams{Paths: []string{d.Active[0].Path}, Source: api.SourceActive, Now: r.clk.Now()})
	require.NoError(t, err)
	require.Equal(t, id, resp.Items[0].TaskID)
	task := r.attempt()
	require.Equal(t, api.SourceActive, task.Source)
	require.Equal(t, [][]string{{"/jfs/ds/train"}, {"/jfs/ds/train"}, {"/jfs/ds"}}, r.drv.warmed)
	require.Equal(t, api.TaskWarm, r.entry(id).State)
}
