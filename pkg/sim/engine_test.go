package sim

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

const GiB = int64(1) << 30

var policies = Policies

func loadRef(t *testing.T, name string, n int) []Job {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	require.NoError(t, err)
	defer f.Close()
	jobs, err := ReadTrace(f)
	require.NoError(t, err)
	if n > 0 && n < len(jobs) {
		jobs = jobs[:n]
	}
	return jobs
}

func physFor(jobs []Job, frac float64) Physics {
	ph := DefaultPhysics()
	ph.CacheBytes = int64(frac * float64(TotalBytes(jobs)))
	return ph
}

// TestAccountingConserves: every byte in the cache was fetched, every byte
// fetched is cached or was evicted, hit ratios are ratios, and every policy
// reads exactly the same bytes.
func TestAccountingConserves(t *testing.T) {
	jobs := loadRef(t, "ref-2k.jsonl", 600)
	for _, frac := range []float64{0.1, 0.3, 1} {
		ph := physFor(jobs, frac)
		var read int64 = -1
		for _, p := range policies {
			r, err := Run(jobs, ph, p, nil)
			require.NoError(t, err)
			require.Equal(t, r.FetchBytes, r.CachedBytes+r.EvictBytes, "%s@%.1f: fetched = cached + evicted", p, frac)
			require.LessOrEqual(t, r.CachedBytes, ph.CacheBytes, p)
			require.LessOrEqual(t, r.WarmBytes, r.FetchBytes, p)
			require.GreaterOrEqual(t, r.HitRatio(), 0.0, p)
			require.LessOrEqual(t, r.HitRatio(), 1.0, p)
			require.Equal(t, r.ReadBytes-r.HitBytes, r.FetchBytes-r.WarmBytes, "%s: every miss is fetched once", p)
			if read < 0 {
				read = r.ReadBytes
			}
			require.Equal(t, read, r.ReadBytes, "%s reads what the others read", p)
			require.Equal(t, len(jobs), r.Jobs)
			if p == "none" {
				require.Zero(t, r.PrologGPUs, "no warm-up, no prolog wait")
				require.Zero(t, r.WarmBytes)
			}
			if frac == 1 && p != "none" {
				require.Zero(t, r.EvictBytes, "%s: everything fits, nothing is evicted", p)
			}
		}
	}
}

func oneJob(submit, start, dur float64, gpus int, uses ...Use) Job {
	return Job{ID: 1, Submit: submit, Start: start, Duration: dur, Nodes: 1, GPUs: gpus, Datasets: uses}
}

func TestWarmBeforeStartHitsEverything(t *testing.T) {
	jobs := []Job{oneJob(0, 3600, 3600, 8, Use{Path: "/jfs/a", Bytes: 100 * GiB, Read: 1})}
	ph := DefaultPhysics()
	ph.CacheBytes = 200 * GiB
	want := map[string]float64{"none": 0, "fifo": 1, "accel": 1, "oracle": 1}
	for p, hr := range want {
		r, err := Run(jobs, ph, p, nil)
		require.NoError(t, err)
		require.InDelta(t, hr, r.HitRatio(), 1e-9, p)
		require.Zero(t, r.PrologGPUs, p)
		require.Equal(t, 100*GiB, r.ReadBytes)
		require.Equal(t, 100*GiB, r.FetchBytes, "%s fetches the dataset exactly once", p)
	}
}

func TestPrologWaitIsBoundedAndCounted(t *testing.T) {
	// 10 TiB named 60 s before start: 2 GiB/s needs 85 min, the bound is 10 min.
	jobs := []Job{oneJob(0, 60, 4*3600, 16, Use{Path: "/jfs/huge", Bytes: 10 << 40, Read: 1})}
	ph := DefaultPhysics()
	ph.CacheBytes = 20 << 40
	fifo, err := Run(jobs, ph, "fifo", nil)
	require.NoError(t, err)
	require.Equal(t, 1, fifo.BoundHits)
	require.InDelta(t, 16*600.0, fifo.PrologGPUs, 1e-6, "16 GPUs held for the whole bound")
	acc, err := Run(jobs, ph, "accel", nil)
	require.NoError(t, err)
	require.Zero(t, acc.BoundHits)
	require.LessOrEqual(t, acc.PrologGPUs, 16*2*ph.Tick, "the ETA says it cannot make it: released after a scheduler tick")
	require.Greater(t, acc.HitRatio(), 0.8, "the warm-up goes on and outruns the job's reads (0.7 GiB/s)")
}

func TestFarJobDoesNotPushOutSoonJob(t *testing.T) {
	// /jfs/a is needed in 30 min; /jfs/c is named 10 min later by a job that
	// starts in 3 days. Both do not fit. FIFO warms /jfs/c at once, LRU
	// thins /jfs/a and the first job waits in its prolog for a re-warm;
	// accel defers /jfs/c until the first job is done.
	jobs := []Job{
		{ID: 1, Submit: 0, Start: 1800, Duration: 3600, GPUs: 8, Datasets: []Use{{Path: "/jfs/a", Bytes: 2 << 40, Read: 1}}},
		{ID: 2, Submit: 600, Start: 3 * 86400, Duration: 600, GPUs: 8, Datasets: []Use{{Path: "/jfs/c", Bytes: 2 << 40, Read: 1}}},
	}
	ph := DefaultPhysics()
	ph.CacheBytes = 3 << 40
	fifo, err := Run(jobs, ph, "fifo", nil)
	require.NoError(t, err)
	acc, err := Run(jobs, ph, "accel", nil)
	require.NoError(t, err)
	require.Greater(t, fifo.PrologGPUs, 8*300.0, "fifo re-warms 1 TiB of /jfs/a inside the prolog")
	require.Greater(t, fifo.FetchBytes, int64(4<<40), "fifo fetches bytes twice")
	require.Zero(t, acc.PrologGPUs)
	require.Equal(t, 1.0, acc.HitRatio())
	require.Equal(t, int64(4<<40), acc.FetchBytes, "accel fetches each dataset once")
}

func TestUnknownPolicyAndBadPhysics(t *testing.T) {
	jobs := []Job{oneJob(0, 1, 1, 1, Use{Path: "/x", Bytes: 1, Read: 1})}
	_, err := Run(jobs, physFor(jobs, 1), "lru2", nil)
	require.ErrorContains(t, err, "use none, fifo, accel")
	ph := physFor(jobs, 1)
	ph.CacheBytes = 0
	_, err = Run(jobs, ph, "none", nil)
	require.ErrorContains(t, err, "must be > 0")
}
