package cachemgr

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// Each re-verification reports its result: warm, short, error.
func TestVerifierMetrics(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	m := metrics.New(s, c.Now)
	warmJob(t, s, 1, t0, "/jfs/a", "/jfs/b", "/jfs/c")
	d.set("/jfs/a", 100, 100)
	d.set("/jfs/b", 100, 0)
	d.fail("/jfs/c")
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second, Metrics: m}, s, d, c)
	c.Add(time.Minute)
	st := jobAnswer(t, s, v, 1)
	require.False(t, st.Ready)
	for result, want := range map[string]float64{metrics.VerifyWarm: 1, metrics.VerifyShort: 1, metrics.VerifyError: 1, metrics.VerifyTimeout: 0} {
		require.Equal(t, want, m.Value("accel_data_verifications_total", map[string]string{"result": result}), result)
	}
	require.Zero(t, m.Value("accel_data_evictions_total", nil), "the job still needs b and c: queued again, not evicted")

	// Short data nobody needs any more is marked evicted: reason lost.
	warmJob(t, s, 2, c.Now(), "/jfs/d")
	require.NoError(t, s.JobEnd(context.Background(), 2, queue.JobEndParams{Now: c.Now()}))
	d.set("/jfs/d", 100, 0)
	c.Add(time.Hour)
	require.Equal(t, api.TaskEvicted, jobAnswer(t, s, v, 2).Datasets[0].State)
	require.Equal(t, 1.0, m.Value("accel_data_evictions_total", map[string]string{"reason": metrics.EvictLost}))
}

// A planner eviction reports its reason (room for a job's data, or for an
// active warm-up) and its bytes.
func TestEvictionMetrics(t *testing.T) {
	ctx := context.Background()
	store := queuetest.Open(t)
	require.NoError(t, store.SeedDatasets(ctx, []string{"/jfs/a", "/jfs/b"}, api.TaskWarm, t0))
	es, err := store.Queue(ctx, true)
	require.NoError(t, err)
	ids := map[string]int64{}
	for _, e := range es {
		ids[e.Dataset] = e.TaskID
	}
	drv := newDriver()
	drv.set("/jfs/a", 8<<20, 8<<20)
	drv.set("/jfs/b", 4<<20, 4<<20)
	mt := metrics.New(store, nil)
	m := New(Config{Metrics: mt}, store, drv, zerolog.New(io.Discard), testutil.NewClock().Now)
	m.evict(ctx, planner.Eviction{ID: ids["/jfs/a"], Path: "/jfs/a", Bytes: 8 << 20, Reason: "make room"}, t0)
	m.evict(ctx, planner.Eviction{ID: ids["/jfs/b"], Path: "/jfs/b", Bytes: 4 << 20, Reason: "active warm-up", Active: true}, t0)
	require.Equal(t, 1.0, mt.Value("accel_data_evictions_total", map[string]string{"reason": metrics.EvictRoom}))
	require.Equal(t, 1.0, mt.Value("accel_data_evictions_total", map[string]string{"reason": metrics.EvictActive}))
	require.Equal(t, float64(8<<20), mt.Value("accel_data_evicted_bytes_total", map[string]string{"reason": metrics.EvictRoom}))
	require.Equal(t, float64(4<<20), mt.Value("accel_data_evicted_bytes_total", map[string]string{"reason": metrics.EvictActive}))
}
