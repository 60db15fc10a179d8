package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
)

// The scheduler reports the bytes its warm-ups bring into the cache (the
// growth of the mount's .stats counters) and the state each attempt leaves
// its task in.
func TestMetricsOfWarmups(t *testing.T) {
	r := newRig(t, newDriver(gib/4, gib, 1), Config{})
	m := metrics.New(r.store, r.clk.Now)
	r.s.cfg.Metrics = m
	id := r.submit(r.dataset("ds", gib))
	r.attempt()
	require.Equal(t, api.TaskWarm, r.entry(id).State)
	require.Equal(t, float64(gib-gib/4), m.Value("accel_data_warmup_bytes_total", nil), "what was cached before does not count")
	require.Equal(t, 1.0, m.Value("accel_data_warmups_total", map[string]string{"result": "warm"}))
}

// Data already warm is a warm result that warmed no bytes.
func TestMetricsOfAlreadyWarm(t *testing.T) {
	r := newRig(t, newDriver(gib, gib, 1), Config{})
	m := metrics.New(r.store, r.clk.Now)
	r.s.cfg.Metrics = m
	r.submit("/jfs/ds")
	r.attempt()
	require.Zero(t, m.Value("accel_data_warmup_bytes_total", nil))
	require.Equal(t, 1.0, m.Value("accel_data_warmups_total", map[string]string{"result": "warm"}))
}

// A short result retried later counts as queued, the bytes it did fetch as warmed.
func TestMetricsOfARetry(t *testing.T) {
	r := newRig(t, newDriver(0, gib, 0.5), Config{TargetRatio: 0.99})
	m := metrics.New(r.store, r.clk.Now)
	r.s.cfg.Metrics = m
	id := r.submit(r.dataset("ds", gib))
	r.attempt()
	require.Equal(t, api.TaskQueued, r.entry(id).State)
	require.Equal(t, 1.0, m.Value("accel_data_warmups_total", map[string]string{"result": "queued"}))
	require.Equal(t, float64(gib/2), m.Value("accel_data_warmup_bytes_total", nil))
}

// A warm-up walks its dataset once (to cut it into shards) and runs one
// juicefs warmup per shard; the only check is the verifying one. The
// dataset_walks_total counter says so.
func TestWarmupWalksOnceAndWarmsShards(t *testing.T) {
	r := newRig(t, newDriver(0, 10<<20, 1), Config{ShardBytes: 4 << 20})
	m := metrics.New(r.store, r.clk.Now)
	r.s.cfg.Metrics = m
	ds := r.dataset("ds", 3<<20, 3<<20, 1<<20, 5<<20, 2<<20)
	id := r.submit(ds)
	r.attempt()
	require.Equal(t, api.TaskWarm, r.entry(id).State)
	f := func(i int) string { return filepath.Join(ds, fmt.Sprintf("f%04d.bin", i)) }
	require.Equal(t, [][]string{{f(0)}, {f(1), f(2)}, {f(3)}, {f(4)}}, r.drv.lists,
		"shards of at most 4 MiB in path order; a bigger file is a shard of its own")
	require.Equal(t, 1.0, m.Value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkList}))
	require.Equal(t, 1.0, m.Value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkCheck}), "the verifying check only")
	_, checks := r.drv.counts()
	require.Equal(t, 1, checks)
}

// A shard report for no warm-up running as a job array here is refused
// (the API answers 404), and no array is listed.
func TestShardReportForNoArrayIsUnknown(t *testing.T) {
	r := newRig(t, newDriver(0, gib, 1), Config{})
	err := r.s.Report(context.Background(), api.ShardReport{TaskID: 1, Run: "task1-a1-1", Index: 0, OK: true})
	require.ErrorIs(t, err, ErrUnknownRun)
	require.Empty(t, r.s.Arrays())
}
