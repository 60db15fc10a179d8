package integration

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

func byDataset(es []api.QueueEntry) map[string]api.QueueEntry {
	m := map[string]api.QueueEntry{}
	for _, e := range es {
		m[e.Dataset] = e
	}
	return m
}

func allTerminal(es []api.QueueEntry) bool {
	for _, e := range es {
		if !e.State.Terminal() {
			return false
		}
	}
	return len(es) > 0
}

// Ten identical requests and three nested ones cost one warm-up per dataset.
func TestTenIdenticalAndNestedRequests(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds1", 12, 4<<20)
	v.WriteFiles(t, "ds2/a", 4, 3<<20)
	v.WriteFiles(t, "ds2/b", 4, 3<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "1")
	ctx := context.Background()
	ds1 := filepath.Join(v.Mount, "ds1")
	ds2 := filepath.Join(v.Mount, "ds2")

	var wg sync.WaitGroup
	ids := make([]int64, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds1 + "/"}, Token: "tok" + string(rune('a'+i)), Source: api.SourceSubmit})
			require.NoError(t, err)
			require.Len(t, r.Items, 1)
			require.Equal(t, ds1, r.Items[0].Dataset)
			ids[i] = r.Items[0].TaskID
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id, "ten identical requests share one task")
	}

	// ds1 occupies the only worker, so the children stay queued until the
	// parent arrives and absorbs them.
	ra, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds2 + "/a"}})
	require.NoError(t, err)
	rb, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds2 + "/b"}})
	require.NoError(t, err)
	rp, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds2}})
	require.NoError(t, err)
	require.Equal(t, ds2, rp.Items[0].Dataset)
	rc, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds1 + "/f0000.bin"}, Token: "covered"})
	require.NoError(t, err)
	require.Equal(t, ds1, rc.Items[0].Dataset, "a path under a queued or warming dataset is covered by it")
	require.Equal(t, "covered", rc.Items[0].Outcome)

	es := d.WaitQueue(2*time.Minute, allTerminal)
	m := byDataset(es)
	require.Equal(t, api.TaskWarm, m[ds1].State)
	require.Equal(t, api.TaskWarm, m[ds2].State)
	require.Equal(t, 1, m[ds1].Attempts, "one warm-up for ds1")
	require.Equal(t, 1, m[ds2].Attempts, "one warm-up for ds2")
	if rp.Items[0].Outcome == "absorbed" {
		require.Equal(t, api.TaskCancelled, m[ds2+"/a"].State)
		require.Equal(t, api.TaskCancelled, m[ds2+"/b"].State)
		require.Equal(t, 0, m[ds2+"/a"].Attempts, "an absorbed child is never warmed on its own")
	} else {
		t.Fatalf("ds2 should have absorbed its queued children a (%s) and b (%s), got outcome %q", ra.Items[0].Outcome, rb.Items[0].Outcome, rp.Items[0].Outcome)
	}
	require.Equal(t, 1, d.CountLogs("warm-up started", `"dataset":"`+ds1+`"`), "juicefs warmup ran once for ds1")
	require.Equal(t, 1, d.CountLogs("warm-up started", `"dataset":"`+ds2+`"`), "juicefs warmup ran once for ds2")

	dsr, err := d.Client.Datasets(ctx)
	require.NoError(t, err)
	got := map[string]api.Dataset{}
	for _, x := range dsr.Datasets {
		got[x.Path] = x
	}
	require.InDelta(t, 1.0, got[ds1].CachedRatio, 0.011)
	require.InDelta(t, 48<<20, got[ds1].Bytes, float64(1<<20), "ds1 is 12 × 4 MiB")
	require.InDelta(t, 1.0, got[ds2].CachedRatio, 0.011)
	require.InDelta(t, 24<<20, got[ds2].Bytes, float64(1<<20), "ds2 is 8 × 3 MiB")

	// A second round is free: the dataset is warm, the request joins it.
	again, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds1}})
	require.NoError(t, err)
	require.Equal(t, "joined", again.Items[0].Outcome)
	require.Equal(t, api.TaskWarm, again.Items[0].State)
}

// A warm-up interrupted by SIGKILL of the daemon is taken up again after a
// restart and finishes; nothing is lost.
func TestCrashMidWarmupRecovers(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "big", 40, 4<<20) // 160 MiB: seconds at the volume's default bandwidth
	d := testutil.StartWarmupd(t, v)
	ctx := context.Background()
	big := filepath.Join(v.Mount, "big")
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{big}})
	require.NoError(t, err)

	d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool {
		return len(es) == 1 && es[0].State == api.TaskWarming && es[0].CachedBytes > 0
	})
	d.Kill()
	d.Start()

	es := d.WaitQueue(2*time.Minute, allTerminal)
	require.Len(t, es, 1)
	require.Equal(t, api.TaskWarm, es[0].State, "the task finishes after the crash")
	require.GreaterOrEqual(t, es[0].Attempts, 2, "the interrupted attempt is counted and a new one ran")
	require.InDelta(t, 1.0, es[0].CachedRatio, 0.011)
	require.True(t, d.Stop(), "graceful stop exits 0")
}

// SIGTERM during a warm-up stops it and hands the task back to the queue; the
// next daemon finishes it.
func TestGracefulShutdownRequeues(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "big", 40, 4<<20)
	d := testutil.StartWarmupd(t, v)
	ctx := context.Background()
	big := filepath.Join(v.Mount, "big")
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{big}})
	require.NoError(t, err)
	d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool {
		return len(es) == 1 && es[0].State == api.TaskWarming
	})
	require.True(t, d.Stop(), "SIGTERM exits 0")
	require.Contains(t, d.Logs(), "stopped cleanly")
	d.Start()
	q, err := d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Len(t, q.Entries, 1)
	es := d.WaitQueue(2*time.Minute, allTerminal)
	require.Equal(t, api.TaskWarm, es[0].State)
}

// While a job's dataset warms, its status carries the measured warm-up
// speed, from which slurm-prolog estimates whether waiting can pay off.
func TestJobStatusReportsWarmRate(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "8") // MiB/s; a real client is mounted with the equivalent --download-limit
	v := testutil.NewVolume(t)
	big := v.WriteFiles(t, "big", 40, 4<<20) // 160 MiB: about 20 s at 8 MiB/s
	d := testutil.StartWarmupd(t, v, "--warm-threads", "2")
	ctx := context.Background()
	st, err := d.Client.JobStart(ctx, 99, api.JobStartRequest{Paths: []string{big}, Node: "n1"})
	require.NoError(t, err)
	require.False(t, st.Ready)
	var rate float64
	var warming bool
	require.Eventually(t, func() bool {
		st, err := d.Client.JobStatus(ctx, 99)
		if err != nil || len(st.Datasets) != 1 {
			return false
		}
		rate, warming = st.Datasets[0].WarmRateBps, st.Datasets[0].State == api.TaskWarming
		return rate > 0 || st.Datasets[0].State.Terminal()
	}, time.Minute, 100*time.Millisecond)
	require.True(t, warming, "the speed is reported while the dataset warms")
	require.InDelta(t, 8<<20, rate, 4<<20, "about the volume's 8 MiB/s (stand-in, or a real client's --download-limit)")
}

// juicefs warmup exits 0 even when blocks fail to download: warmupd verifies
// with --check, retries with backoff, and then reports the dataset partial.
func TestFailedBlocksEndPartialAfterRetries(t *testing.T) {
	v := testutil.NewVolume(t)
	if v.Real {
		t.Skip("a real juicefs cannot be told to fail blocks (FAKEJUICEFS_FAIL_BLOCKS is the stand-in's); this case runs against the stand-in")
	}
	t.Setenv("FAKEJUICEFS_FAIL_BLOCKS", "0.3") // the same 30 % of blocks fail on every attempt
	ds := v.WriteFiles(t, "flaky", 20, 4<<20)
	d := testutil.StartWarmupd(t, v, "--retries", "2", "--retry-backoff", "200ms")
	_, err := d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)
	es := d.WaitQueue(time.Minute, allTerminal)
	require.Equal(t, api.TaskPartial, es[0].State)
	require.Equal(t, 2, es[0].Attempts, "retried once, then gave up")
	require.Greater(t, es[0].CachedRatio, 0.4)
	require.Less(t, es[0].CachedRatio, 0.95)
	require.Equal(t, 2, d.CountLogs("warm-up started", ds))
	require.Contains(t, d.Logs(), "below the target")
}

// A dataset named through a symlink on the mount is the dataset it points
// to (one task for both names), and one whose symlink leads out of every
// mount is refused: warmupd resolves each path with one walk through the
// JuiceFS mount, refusing symlinks, and reads the real name back only when
// that walk meets one.
func TestSymlinkOnTheMountNamesItsTarget(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds", 2, 1<<20)
	require.NoError(t, os.Symlink("ds", filepath.Join(v.Mount, "alias")))
	require.NoError(t, os.Symlink(t.TempDir(), filepath.Join(v.Mount, "escape")))
	d := testutil.StartWarmupd(t, v, "--workers", "0")
	ctx := context.Background()
	ds := filepath.Join(v.Mount, "ds")

	direct, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}, Source: api.SourceManual})
	require.NoError(t, err)
	for _, p := range []string{filepath.Join(v.Mount, "alias"), filepath.Join(v.Mount, "alias") + "/"} {
		r, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{p}, Source: api.SourceManual})
		require.NoError(t, err, p)
		require.Equal(t, ds, r.Items[0].Dataset, p)
		require.Equal(t, direct.Items[0].TaskID, r.Items[0].TaskID, "%s is the same dataset", p)
	}
	_, err = d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{filepath.Join(v.Mount, "escape")}, Source: api.SourceManual})
	require.ErrorContains(t, err, "outside every JuiceFS mount")
}
