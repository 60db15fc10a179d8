package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

func stateOf(ds string) func([]api.QueueEntry) api.TaskState {
	return func(es []api.QueueEntry) api.TaskState {
		for _, e := range es {
			if e.Dataset == ds {
				return e.State
			}
		}
		return ""
	}
}

func warm(t *testing.T, d *testutil.Daemon, path string) {
	t.Helper()
	_, err := d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{path}})
	require.NoError(t, err)
	d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool { return stateOf(path)(es) == api.TaskWarm })
}

// When space is needed, a dataset nobody needs is evicted; one a running
// job needs never is: the new warm-up waits, and says why, until the job ends.
func TestEvictionGuard(t *testing.T) {
	v := testutil.NewVolume(t)
	a := v.WriteFiles(t, "a", 6, 4<<20) // 24 MiB each
	b := v.WriteFiles(t, "b", 6, 4<<20)
	c := v.WriteFiles(t, "c", 6, 4<<20)
	d := testutil.StartWarmupd(t, v, "--cache-capacity", "40MiB", "--refresh-interval", "-1s")
	ctx := context.Background()

	// a is warm and idle; b needs room: a is evicted for it.
	warm(t, d, a)
	warm(t, d, b)
	es, err := d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Equal(t, api.TaskEvicted, stateOf(a)(es.Entries), "a was nobody's and made room for b")
	cache, err := d.Client.Cache(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, cache.Evictions)
	require.Equal(t, a, cache.Evictions[0].Dataset)
	require.Contains(t, cache.Evictions[0].Reason, "make room for "+b)
	require.Equal(t, int64(40<<20), cache.CapacityBytes)
	for _, x := range cache.Datasets {
		if x.Path == a {
			require.Zero(t, x.CachedBytes, "the stand-in's blocks of a are gone")
		}
	}

	// A running job uses b: c must wait rather than evict it.
	_, err = d.Client.JobStart(ctx, 4242, api.JobStartRequest{Paths: []string{b}, Node: "n1"})
	require.NoError(t, err)
	_, err = d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{c}})
	require.NoError(t, err)
	es2 := d.WaitQueue(30*time.Second, func(es []api.QueueEntry) bool {
		for _, e := range es {
			if e.Dataset == c && strings.Contains(e.Reason, "waiting for cache space") {
				return true
			}
		}
		return false
	})
	require.Equal(t, api.TaskWarm, stateOf(b)(es2), "b is in use by a running job and stays")
	require.Equal(t, api.TaskQueued, stateOf(c)(es2))
	time.Sleep(time.Second)
	es3, err := d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Equal(t, api.TaskWarm, stateOf(b)(es3.Entries), "still not evicted a second later")

	// The job ends: b is fair game, c goes ahead.
	require.NoError(t, d.Client.JobEnd(ctx, 4242, api.JobEndRequest{Node: "n1", ExitCode: 0}))
	es4 := d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool { return stateOf(c)(es) == api.TaskWarm })
	require.Equal(t, api.TaskEvicted, stateOf(b)(es4))
}

// Capacity management evicts for real: after a remount (a reboot, an
// upgrade) `juicefs warmup --evict` would print its summary and remove
// nothing, so the cache manager deletes the dataset's block files itself;
// they are gone and --check says 0 %.
func TestEvictionRemovesBlockFilesAfterRemount(t *testing.T) {
	v := testutil.NewVolume(t)
	a := v.WriteFiles(t, "a", 6, 4<<20) // 24 MiB each
	b := v.WriteFiles(t, "b", 6, 4<<20)
	d := testutil.StartWarmupd(t, v, "--cache-capacity", "40MiB", "--refresh-interval", "-1s")
	ctx := context.Background()
	drv := &jfs.Driver{Binary: v.Binary}

	warm(t, d, a)
	v.WaitBlocksWritten(t, a) // a real client writes them after its warm-up returned
	var blocks []string
	require.NoError(t, drv.Blocks(ctx, "list", []string{a}, func(where []string) {
		for _, p := range where {
			if _, err := os.Stat(p); err == nil {
				blocks = append(blocks, p)
			}
		}
	}))
	require.Len(t, blocks, 6, "a's six 4 MiB blocks are cached")

	v.Remount(t)  // the mount that wrote a's blocks is gone
	warm(t, d, b) // needs room: a is evicted
	require.Eventually(t, func() bool {
		for _, p := range blocks {
			if _, err := os.Stat(p); err == nil {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "a's block files are deleted")
	require.Eventually(t, func() bool { return d.CountLogs(`"message":"evicted"`, a) == 1 }, 30*time.Second, 100*time.Millisecond)
	r, err := drv.Check(ctx, []string{a})
	require.NoError(t, err)
	require.Less(t, r.Ratio, 0.01, "--check finds nothing of a")
	r, err = drv.Check(ctx, []string{b})
	require.NoError(t, err)
	require.Greater(t, r.Ratio, 0.99, "b is warm")
	es, err := d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Equal(t, api.TaskEvicted, stateOf(a)(es.Entries))
}

// A job waiting in its prolog overtakes a larger task queued earlier, and
// /v1/priority explains both with their factors.
func TestPrologOvertakesAndPriorityIsExplained(t *testing.T) {
	v := testutil.NewVolume(t)
	big := v.WriteFiles(t, "big", 8, 4<<20)
	small := v.WriteFiles(t, "small", 2, 1<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "0")
	ctx := context.Background()
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{big}})
	require.NoError(t, err)
	_, err = d.Client.JobStart(ctx, 77, api.JobStartRequest{Paths: []string{small}, Node: "n2"})
	require.NoError(t, err)

	var pr *api.PriorityResponse
	require.Eventually(t, func() bool {
		pr, err = d.Client.Priority(ctx)
		return err == nil && len(pr.Entries) == 2
	}, 20*time.Second, 100*time.Millisecond)
	require.Equal(t, small, pr.Entries[0].Dataset, "the prolog-waiting dataset ranks first")
	require.Greater(t, pr.Entries[0].Priority, pr.Entries[1].Priority)
	names := map[string]float64{}
	for _, f := range pr.Entries[0].Factors {
		names[f.Name] = f.Contribution
	}
	require.Contains(t, names, "prolog_wait")
	require.Greater(t, names["prolog_wait"], 0.0)
	require.Contains(t, pr.Entries[1].Reason, "waiting for a free warm-up worker")

	q, err := d.Client.Queue(ctx, false)
	require.NoError(t, err)
	require.Equal(t, small, q.Entries[0].Dataset, "the queue lists it first too")
	require.Equal(t, filepath.Join(v.Mount, "big"), q.Entries[1].Dataset)
}

// In an idle window, a popular dataset that left the cache (evicted behind
// warmupd's back) is found by the periodic check and warmed again by the
// active policy, with source "active".
func TestActiveWarmupRewarmsAPopularDataset(t *testing.T) {
	v := testutil.NewVolume(t)
	pop := v.WriteFiles(t, "popular", 5, 4<<20)
	d := testutil.StartWarmupd(t, v, "--active-windows", "00:00-12:00,12:00-00:00", "--active-budget", "1GiB",
		"--active-min-history", "0.5", "--refresh-interval", "1s")
	ctx := context.Background()

	// One job used it: it has a history.
	_, err := d.Client.JobStart(ctx, 31, api.JobStartRequest{Paths: []string{pop}, Node: "n1"})
	require.NoError(t, err)
	d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool { return stateOf(pop)(es) == api.TaskWarm })
	require.NoError(t, d.Client.JobEnd(ctx, 31, api.JobEndRequest{Node: "n1"}))

	// Someone empties the cache of it.
	v.Evict(t, pop)

	// The refresher sees it gone; the active policy brings it back.
	d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool {
		for _, e := range es {
			if e.Dataset == pop && e.Source == api.SourceActive && e.State == api.TaskWarm {
				return true
			}
		}
		return false
	})
	require.Equal(t, 1, d.CountLogs("warm dataset lost blocks; marked evicted"))
	require.Equal(t, 1, d.CountLogs("active warm-up queued", pop))
	cache, err := d.Client.Cache(ctx)
	require.NoError(t, err)
	require.True(t, cache.InActiveWindow)
	for _, x := range cache.Datasets {
		if x.Path == pop {
			require.InDelta(t, 1.0, x.CachedRatio, 0.011, "warm again")
		}
	}
}
