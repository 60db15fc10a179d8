package scheduler

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
)

// The scheduler reports the bytes its warm-ups bring into the cache (the
// growth --check measures) and the state each attempt leaves its task in.
func TestMetricsOfWarmups(t *testing.T) {
	r := newRig(t, newDriver(gib/4, gib, 1), Config{})
	m := metrics.New(r.store, r.clk.Now)
	r.s.cfg.Metrics = m
	id := r.submit("/jfs/ds")
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
	id := r.submit("/jfs/ds")
	r.attempt()
	require.Equal(t, api.TaskQueued, r.entry(id).State)
	require.Equal(t, 1.0, m.Value("accel_data_warmups_total", map[string]string{"result": "queued"}))
	require.Equal(t, float64(gib/2), m.Value("accel_data_warmup_bytes_total", nil))
}
