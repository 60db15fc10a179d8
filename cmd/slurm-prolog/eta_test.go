package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

func TestHopeless(t *testing.T) {
	const mib = 1 << 20
	warming := func(bytes, cached int64, rate float64) api.JobDataset {
		return api.JobDataset{Dataset: "/jfs/a", State: api.TaskWarming, Bytes: bytes, CachedBytes: cached, WarmRateBps: rate}
	}
	// 100 MiB left at 10 MiB/s is 10 s: fits a 60 s wait, not a 5 s one.
	require.Empty(t, hopeless([]api.JobDataset{warming(200*mib, 100*mib, 10*mib)}, time.Second, time.Minute))
	why := hopeless([]api.JobDataset{warming(200*mib, 100*mib, 10*mib)}, time.Second, 5*time.Second)
	require.Contains(t, why, "/jfs/a needs 100.0 MiB more")
	require.Contains(t, why, "ETA 10s is past the 5s prolog-wait")
	// No measured speed (queued, or just started): keep waiting.
	require.Empty(t, hopeless([]api.JobDataset{warming(200*mib, 0, 0)}, time.Second, 5*time.Second))
	require.Empty(t, hopeless([]api.JobDataset{{Dataset: "/jfs/b", State: api.TaskQueued, Bytes: 1 << 40}}, time.Second, 5*time.Second))
	// A finished dataset never blocks.
	require.Empty(t, hopeless([]api.JobDataset{{Dataset: "/jfs/c", State: api.TaskWarm, Bytes: 10, CachedBytes: 10}}, time.Second, time.Second))
}

// The log line never says 100% from a rounded --check figure: a printed
// "100.0%" is recorded as 0.9995, which reads 99%.
func TestSummaryNeverRoundsUpTo100(t *testing.T) {
	require.Equal(t, "/jfs/a warm 99%, /jfs/b warm 100%, /jfs/c warming 42%", summary([]api.JobDataset{
		{Dataset: "/jfs/a", State: api.TaskWarm, CachedRatio: 0.9995},
		{Dataset: "/jfs/b", State: api.TaskWarm, CachedRatio: 1},
		{Dataset: "/jfs/c", State: api.TaskWarming, CachedRatio: 0.4299},
	}))
}
