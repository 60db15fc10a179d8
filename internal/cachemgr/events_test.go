package cachemgr

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// missReport is an agent's report of job reading dataset on node n1: hit and
// miss bytes of the node's cache counters over the job's time there.
func missReport(job uint64, dataset string, hit, miss int64, at time.Time) api.AccessReport {
	return api.AccessReport{Node: "n1", Mount: "/jfs", Jobs: []api.JobAccess{{JobID: job, HitBytes: hit, MissBytes: miss,
		Paths: []api.PathAccess{{Dataset: dataset, Subpath: ".", Bytes: hit + miss, DistinctBytes: hit + miss, Files: 1, First: at, Last: at}}}}}
}

func (r *rig) dataset(path string) api.Dataset {
	r.t.Helper()
	ds, err := r.store.Datasets(context.Background())
	require.NoError(r.t, err)
	for _, d := range ds {
		if d.Path == path {
			return d
		}
	}
	r.t.Fatalf("no dataset %s", path)
	return api.Dataset{}
}

// Misses on a warm dataset mark it stale (with the time and the reason) and
// get it checked before any periodic check — once per EventRefreshInterval,
// however many reports come; a check that finds it warm clears the mark, one
// that finds it short queues it again for the job that needs it.
func TestMissReportRefreshesOncePerInterval(t *testing.T) {
	r := newRig(t, Config{RefreshInterval: time.Hour, EventRefreshInterval: time.Minute})
	ctx := context.Background()
	r.submit("/jfs/ds", 1)
	id := warmQueued(t, r.store, r.clk.Now(), gib)[0]
	r.drv.set("/jfs/ds", gib, gib)
	r.m.Stale() // nothing marked: no wake-up
	require.Empty(t, r.m.wake)

	r.clk.Add(10 * time.Second)
	rec, err := r.store.RecordAccess(ctx, missReport(1, "/jfs/ds", 0, 64<<20, r.clk.Now()), r.clk.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds"}, rec.Stale)
	r.m.Stale(rec.Stale...)
	require.Len(t, r.m.wake, 1, "Refresh is woken")
	d := r.dataset("/jfs/ds")
	require.Equal(t, api.StaleMissReport, d.StaleReason)
	require.Equal(t, r.clk.Now(), d.StaleAt.UTC())
	require.Contains(t, d.StaleDetail, "job 1 on n1")

	for range 50 { // a storm of reports: the first event is kept, none is new
		r.clk.Add(100 * time.Millisecond)
		rec, err = r.store.RecordAccess(ctx, missReport(1, "/jfs/ds", 0, 64<<20, r.clk.Now()), r.clk.Now())
		require.NoError(t, err)
		require.Empty(t, rec.Stale)
		require.False(t, r.m.refreshOne(ctx), "checked less than EventRefreshInterval ago")
	}
	require.Zero(t, r.drv.checksOf("/jfs/ds"))

	r.clk.Set(t0.Add(time.Minute))
	require.True(t, r.m.refreshOne(ctx), "the stale dataset is due before the periodic refresh")
	require.Equal(t, 1, r.drv.checksOf("/jfs/ds"))
	require.False(t, r.m.refreshOne(ctx), "found warm: the mark is cleared")
	d = r.dataset("/jfs/ds")
	require.Nil(t, d.StaleAt)
	require.Empty(t, d.StaleReason)
	require.Equal(t, r.clk.Now(), d.CheckedAt.UTC())

	// Misses again at once: marked, but not checked before a minute passed.
	r.clk.Add(time.Second)
	rec, err = r.store.RecordAccess(ctx, missReport(1, "/jfs/ds", 0, 64<<20, r.clk.Now()), r.clk.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds"}, rec.Stale)
	require.False(t, r.m.refreshOne(ctx))
	r.clk.Add(time.Minute)
	r.drv.set("/jfs/ds", gib, gib/2) // the cache dropped half of it
	require.True(t, r.m.refreshOne(ctx))
	require.Equal(t, 2, r.drv.checksOf("/jfs/ds"))
	e := r.state(id)
	require.Equal(t, api.TaskQueued, e.State, "job 1 needs it: queued again")
	require.InDelta(t, 0.5, e.CachedRatio, 1e-9)
}

// Misses the dataset's last ratio explains, or below one block, mark nothing;
// neither do misses on a dataset that is not warm.
func TestMissReportNeedsEvidence(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	r.warm("/jfs/warm", gib)
	r.submit("/jfs/queued", 2)
	for i, c := range []struct {
		ds        string
		hit, miss int64
	}{
		{"/jfs/warm", 1 << 30, 1 << 20},  // 1 MiB: below queue.MissEvidenceBytes
		{"/jfs/queued", 0, 1 << 30},      // not warm: misses are expected
		{"/jfs/unknown", 0, 1 << 30},     // not in the cache status table
		{"/jfs/warm", 1 << 40, 16 << 20}, // 16 MiB of 1 TiB: within the ratio (1.0 − 0 … rounding)
	} {
		// one job each: a job's misses are shared among the datasets it read
		rec, err := r.store.RecordAccess(ctx, missReport(uint64(10+i), c.ds, c.hit, c.miss, r.clk.Now()), r.clk.Now())
		require.NoError(t, err)
		if c.ds == "/jfs/warm" && c.miss == 16<<20 {
			// the ratio recorded is 1.0, so any miss fraction above 0 counts
			require.Equal(t, []string{"/jfs/warm"}, rec.Stale)
			continue
		}
		require.Empty(t, rec.Stale, "%+v", c)
	}
	require.True(t, queue.MissSuspect(0, 8<<20, 0.99, 0))
	require.False(t, queue.MissSuspect(99<<20, 1<<20*4, 0.95, 0), "4 % missed, the ratio says 5 % is not cached")
	require.False(t, queue.MissSuspect(90<<20, 10<<20, 0.95, 0.06), "within the sampled ratio's bound")
	require.True(t, queue.MissSuspect(90<<20, 10<<20, 0.95, 0.01))
}

// An event recorded while a check runs survives it: the check may not have
// seen what the event saw.
func TestStaleEventDuringCheckIsKept(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	r.warm("/jfs/ds", gib)
	started := r.clk.Now()
	r.clk.Add(time.Second)
	marked, err := r.store.MarkStale(ctx, api.StaleChangelog, []queue.StaleMark{{Path: "/jfs/ds", Detail: "CREATE x"}, {Path: "/jfs/none", Detail: "CREATE x"}}, r.clk.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds"}, marked)
	r.clk.Add(time.Second)
	require.NoError(t, r.store.RecordCheck(ctx, "/jfs/ds", queue.Check{Files: 1, Bytes: gib, CachedBytes: gib, Ratio: 1, Started: started}, r.clk.Now()))
	require.Equal(t, api.StaleChangelog, r.dataset("/jfs/ds").StaleReason, "the event came after the check started")
	require.NoError(t, r.store.RecordCheck(ctx, "/jfs/ds", queue.Check{Files: 1, Bytes: gib, CachedBytes: gib, Ratio: 1}, r.clk.Now()))
	require.Empty(t, r.dataset("/jfs/ds").StaleReason)
}

// A check that fails while an event marks the dataset stale keeps the mark:
// it measured nothing, so the dataset must not be called warm on its old
// figures (Verifier.Fresh) until a check that works has seen the event.
func TestFailedCheckKeepsEventDuringIt(t *testing.T) {
	r := newRig(t, Config{RefreshInterval: time.Minute})
	ctx := context.Background()
	r.warm("/jfs/ds", gib)
	r.clk.Add(time.Hour) // the periodic check is due
	r.drv.fail("/jfs/ds")
	r.drv.hold = make(chan struct{})
	done := make(chan bool)
	go func() { done <- r.m.refreshOne(ctx) }()
	require.Eventually(t, func() bool { r.drv.mu.Lock(); defer r.drv.mu.Unlock(); return r.drv.inFlight == 1 }, 10*time.Second, 5*time.Millisecond)
	r.clk.Add(time.Second)
	marked, err := r.store.MarkStale(ctx, api.StaleChangelog, []queue.StaleMark{{Path: "/jfs/ds", Detail: "CREATE /jfs/ds/new"}}, r.clk.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds"}, marked)
	r.clk.Add(time.Second)
	close(r.drv.hold)
	require.True(t, <-done)
	require.Equal(t, 1, r.drv.checksOf("/jfs/ds"))
	require.Equal(t, api.StaleChangelog, r.dataset("/jfs/ds").StaleReason, "the failed check saw nothing: the event stays")
	last, err := r.store.LastChecks(ctx, []string{"/jfs/ds"})
	require.NoError(t, err)
	require.Equal(t, api.StaleChangelog, last["/jfs/ds"].Stale)
}

// newFileUnderSampled scripts a file created under the sampled dataset
// after its manifest was written: not in the manifest (no sample can draw
// it), not cached, and a tenth of the dataset's bytes in the full check.
func newFileUnderSampled(d *fakeDriver, dataset string) {
	const files, size = 100_000, 4096
	d.set(dataset, files*size*10/9, files*size)
}

// A changelog event (a file created under a warm dataset) is checked by a
// walk, in the refresh: a sample drawn from the manifest cannot see a file
// created after it, and would clear the mark with the dataset still called
// warm.
func TestChangelogEventWalksInTheRefresh(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t, Config{RefreshInterval: time.Hour, EventRefreshInterval: time.Minute})
	r.m.cfg.Sampler = newSampler(t, dir, r.drv, 1)
	ctx := context.Background()
	id := r.warm("/jfs/big", 100_000*4096)
	sampledSet(t, r.drv, dir, "/jfs/big", 100_000, 4096, 0)
	newFileUnderSampled(r.drv, "/jfs/big")
	r.clk.Add(time.Second)
	_, err := r.store.MarkStale(ctx, api.StaleChangelog, []queue.StaleMark{{Path: "/jfs/big", Detail: "CREATE /jfs/big/new.bin"}}, r.clk.Now())
	require.NoError(t, err)
	r.clk.Add(time.Minute)
	require.True(t, r.m.refreshOne(ctx))
	require.Equal(t, 1, r.drv.checksOf("/jfs/big"), "walked")
	require.NotEqual(t, api.TaskWarm, r.state(id).State, "the new file is not cached")
}

// The same in a re-verification a waiting prolog starts: a dataset the
// changelog marked is walked, and the prolog is not told warm.
func TestChangelogEventWalksInAReverification(t *testing.T) {
	st, d, c, dir := queuetest.Open(t), newDriver(), testutil.NewClock(), t.TempDir()
	warmJob(t, st, 1, t0, "/jfs/big")
	sampledSet(t, d, dir, "/jfs/big", 100_000, 4096, 0)
	v := newVerifier(t, VerifyConfig{MaxAge: time.Hour, Sampler: newSampler(t, dir, d, 1)}, st, d, c)
	require.True(t, jobAnswer(t, st, v, 1).Warm)
	newFileUnderSampled(d, "/jfs/big")
	c.Add(time.Second)
	_, err := st.MarkStale(context.Background(), api.StaleChangelog, []queue.StaleMark{{Path: "/jfs/big", Detail: "CREATE /jfs/big/new.bin"}}, c.Now())
	require.NoError(t, err)
	c.Add(time.Second)
	require.False(t, jobAnswer(t, st, v, 1).Warm, "the new file is not cached")
	require.Equal(t, 1, d.checksOf("/jfs/big"), "walked")
}
