package cachemgr

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// rig is a manager on a real SQLite store, with the fake driver and a test
// clock that moves only when the test says.
type rig struct {
	t     *testing.T
	store *queue.Store
	drv   *fakeDriver
	clk   *testutil.Clock
	m     *Manager
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	if cfg.Planner.WarmRatio == 0 {
		cfg.Planner = planner.DefaultConfig()
	}
	r := &rig{t: t, store: queuetest.Open(t), drv: newDriver(), clk: testutil.NewClock()}
	r.m = New(cfg, r.store, r.drv, zerolog.New(zerolog.NewTestWriter(t)), r.clk.Now)
	return r
}

// submit queues path for a job (so a job needs it) and returns its task id.
func (r *rig) submit(path string, job uint64) int64 {
	r.t.Helper()
	resp, err := r.store.Submit(context.Background(), queue.SubmitParams{Paths: []string{path}, JobID: job, Source: api.SourceSubmit, Now: r.clk.Now()})
	require.NoError(r.t, err)
	return resp.Items[0].TaskID
}

// warm makes path a warm dataset of the given size that no job needs.
func (r *rig) warm(path string, bytes int64) int64 {
	r.t.Helper()
	ctx := context.Background()
	resp, err := r.store.Submit(ctx, queue.SubmitParams{Paths: []string{path}, Source: api.SourceManual, Now: r.clk.Now()})
	require.NoError(r.t, err)
	id := resp.Items[0].TaskID
	require.Equal(r.t, []int64{id}, warmQueued(r.t, r.store, r.clk.Now(), bytes))
	r.drv.set(path, bytes, bytes)
	return id
}

func (r *rig) state(id int64) api.QueueEntry {
	r.t.Helper()
	return queuetest.Entry(r.t, r.store, id)
}

// get calls one of the manager's endpoints and decodes the answer.
func (r *rig) get(pattern string, out any) {
	r.t.Helper()
	rec := httptest.NewRecorder()
	r.m.Routes()[pattern](rec, httptest.NewRequest("GET", "/", nil))
	require.Equal(r.t, http.StatusOK, rec.Code, rec.Body.String())
	require.NoError(r.t, json.Unmarshal(rec.Body.Bytes(), out))
}

// Without a capacity, every queued task may start, a queued dataset already
// cached is let through to be marked warm, and plans are rate-limited on the
// injected clock.
func TestPlanAllowsQueuedTasksAndIsRateLimited(t *testing.T) {
	r := newRig(t, Config{PlanInterval: time.Second})
	a, b := r.submit("/jfs/a", 1), r.submit("/jfs/b", 2)
	require.NoError(t, r.store.RecordCheck(context.Background(), "/jfs/b", queue.Check{Files: 1, Bytes: gib, CachedBytes: gib, Ratio: 1}, t0))

	allowed, again := r.m.Plan(context.Background(), 2)
	require.ElementsMatch(t, []int64{a, b}, allowed)
	require.Zero(t, again)

	c := r.submit("/jfs/c", 3)
	r.clk.Add(400 * time.Millisecond)
	allowed, again = r.m.Plan(context.Background(), 2)
	require.ElementsMatch(t, []int64{a, b}, allowed, "the last plan's answer until PlanInterval has passed")
	require.Equal(t, 600*time.Millisecond, again)

	r.clk.Add(600 * time.Millisecond)
	allowed, _ = r.m.Plan(context.Background(), 1)
	require.Contains(t, allowed, b, "already cached: marked warm without a worker slot")
	require.Len(t, allowed, 2, "one free slot: one start plus the cached one")
	require.NotContains(t, allowed, c, "the youngest waits for a worker")

	var pr api.PriorityResponse
	r.get("GET /v1/priority", &pr)
	require.Equal(t, t0.Add(time.Second), pr.PlannedAt.UTC())
	require.Len(t, pr.Entries, 2, "the queued tasks still to warm, ranked")
	require.NotEmpty(t, pr.Entries[0].Factors)
	require.Contains(t, pr.Entries[1].Reason, "waiting for a free warm-up worker")
	require.Contains(t, r.state(c).Reason, "waiting for a free warm-up worker", "the wait reason is stored for swarmup")
}

// With a capacity, a job's dataset that does not fit makes room: the warm
// dataset no job needs is evicted, through the driver, and recorded.
func TestPlanEvictsToMakeRoom(t *testing.T) {
	r := newRig(t, Config{CapacityBytes: 10 * gib, CacheDir: t.TempDir()})
	old := r.warm("/jfs/old", 8*gib)
	need := r.submit("/jfs/need", 1)
	require.NoError(t, r.store.RecordCheck(context.Background(), "/jfs/need", queue.Check{Files: 1, Bytes: 5 * gib}, t0))
	r.drv.set("/jfs/need", 5*gib, 0)

	allowed, _ := r.m.Plan(context.Background(), 1)
	require.Equal(t, []int64{need}, allowed)
	require.Eventually(t, func() bool { return len(r.drv.evictedPaths()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"/jfs/old"}, r.drv.evictedPaths())
	var cache api.CacheResponse
	require.Eventually(t, func() bool { r.get("GET /v1/cache", &cache); return len(cache.Evictions) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, "/jfs/old", cache.Evictions[0].Dataset)
	require.Equal(t, int64(8*gib), cache.Evictions[0].Bytes)
	require.Contains(t, cache.Evictions[0].Reason, "make room for /jfs/need")
	require.Equal(t, api.TaskEvicted, r.state(old).State)
	require.Zero(t, r.state(old).CachedBytes, "the check after the eviction is recorded")
	require.Equal(t, int64(10*gib), cache.CapacityBytes)
	require.Positive(t, cache.FSTotalBytes, "statfs of the cache directory")
	require.Equal(t, "no ActiveWindows configured", cache.ActiveReason)
}

// With a capacity, a dataset of unknown size waits; Refresh sizes it with a
// first --check, and the next plan lets it start.
func TestUnsizedDatasetIsSizedThenStarts(t *testing.T) {
	r := newRig(t, Config{CapacityBytes: 100 * gib, PlanInterval: time.Millisecond, RefreshInterval: -1})
	id := r.submit("/jfs/new", 1)
	r.drv.set("/jfs/new", 3*gib, 0)
	allowed, _ := r.m.Plan(context.Background(), 1)
	require.Empty(t, allowed)
	require.Contains(t, r.state(id).Reason, "waiting for its size")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.m.Refresh(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool { return r.state(id).Bytes == 3*gib }, 10*time.Second, 5*time.Millisecond)
	r.clk.Add(time.Second)
	allowed, _ = r.m.Plan(context.Background(), 1)
	require.Equal(t, []int64{id}, allowed)
}

// A dataset whose check is due is checked again and the result recorded; a
// failing check is recorded as an attempt so it does not starve the rest.
func TestRefreshChecksWhatIsDue(t *testing.T) {
	r := newRig(t, Config{RefreshInterval: 10 * time.Minute})
	ok := r.warm("/jfs/ok", gib)
	broken := r.warm("/jfs/broken", gib)
	ctx := context.Background()
	require.False(t, r.m.refreshOne(ctx), "both were just checked")

	r.clk.Add(11 * time.Minute)
	r.drv.set("/jfs/ok", gib, gib-gib/200) // 99.5 %: still warm
	r.drv.fail("/jfs/broken")
	require.True(t, r.m.refreshOne(ctx))
	require.True(t, r.m.refreshOne(ctx))
	require.False(t, r.m.refreshOne(ctx), "both checked at the new time")
	require.InDelta(t, 0.995, r.state(ok).CachedRatio, 0.0001, "the new check is recorded")
	require.Equal(t, 1.0, r.state(broken).CachedRatio, "a failed check keeps the last known status")

	off := newRig(t, Config{RefreshInterval: -1})
	off.warm("/jfs/x", gib)
	off.clk.Add(24 * time.Hour)
	require.False(t, off.m.refreshOne(ctx), "periodic refresh turned off")
}

// While every worker slot is busy a plan can start nothing, so the planner
// waits ten times PlanInterval; a free slot lets the next plan run at the
// usual pace.
func TestPlanWaitsLongerWhileEveryWorkerIsBusy(t *testing.T) {
	r := newRig(t, Config{PlanInterval: time.Second}) // a plan takes far less
	a := r.submit("/jfs/a", 1)
	allowed, again := r.m.Plan(context.Background(), 0)
	require.Empty(t, allowed, "no free slot: nothing starts")
	require.Zero(t, again)
	var pr api.PriorityResponse
	r.get("GET /v1/priority", &pr)
	require.Equal(t, t0, pr.PlannedAt.UTC())

	b := r.submit("/jfs/b", 2)
	r.clk.Add(3 * time.Second)
	allowed, again = r.m.Plan(context.Background(), 0)
	require.Empty(t, allowed)
	require.Equal(t, 7*time.Second, again, "every slot busy: 10 × PlanInterval between plans")
	r.get("GET /v1/priority", &pr)
	require.Equal(t, t0, pr.PlannedAt.UTC(), "no new plan yet")
	require.Len(t, pr.Entries, 1, "b is not ranked yet")

	allowed, again = r.m.Plan(context.Background(), 2)
	require.ElementsMatch(t, []int64{a, b}, allowed, "a slot came free: planned at once")
	require.Zero(t, again)
	r.get("GET /v1/priority", &pr)
	require.Equal(t, t0.Add(3*time.Second), pr.PlannedAt.UTC())
	require.Len(t, pr.Entries, 2)
}
