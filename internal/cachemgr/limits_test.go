package cachemgr

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// A user's request of unknown size is sized first; found above
// MaxRequestBytes it ends failed with the reason, never warmed. Root's
// request of the same size, and a small one, start.
func TestMaxRequestBytesEndsOversizedUserTask(t *testing.T) {
	ctx := context.Background()
	store, clk := queuetest.Open(t), testutil.NewClock()
	submit := func(uid uint32, p string) int64 {
		r, err := store.Submit(ctx, queue.SubmitParams{Paths: []string{p}, UID: uid, Source: api.SourceManual, Now: clk.Now()})
		require.NoError(t, err)
		return r.Items[0].TaskID
	}
	huge, rootHuge, small := submit(1000, "/jfs/huge"), submit(0, "/jfs/roothuge"), submit(1000, "/jfs/small")
	drv := newDriver()
	drv.set("/jfs/huge", 10<<30, 0)
	drv.set("/jfs/roothuge", 10<<30, 0)
	drv.set("/jfs/small", 1<<20, 0)
	m := New(Config{MaxRequestBytes: 1 << 30}, store, drv, zerolog.Nop(), clk.Now)

	allowed, _ := m.Plan(ctx, 4)
	require.Empty(t, allowed, "nothing starts before its size is known")
	for len(m.sizing) > 0 {
		m.size(ctx, <-m.sizing)
	}
	clk.Add(time.Second)
	allowed, _ = m.Plan(ctx, 4)
	slices.Sort(allowed)
	require.Equal(t, []int64{rootHuge, small}, allowed, "root is exempt; the small one fits")

	es, err := store.Queue(ctx, true)
	require.NoError(t, err)
	for _, e := range es {
		if e.TaskID == huge {
			require.Equal(t, api.TaskFailed, e.State)
			require.Equal(t, "10.0 GiB, larger than MaxRequestBytes=1.0 GiB, the most a user may warm in one request; ask an admin (root) to warm it, or name a smaller part of it", e.Reason)
			require.Zero(t, e.Attempts, "never warmed")
		}
	}

	// Known now: a new request for it is refused at submission.
	p, bytes, err := store.OversizeOf(ctx, []string{"/jfs/small", "/jfs/huge"}, 1<<30)
	require.NoError(t, err)
	require.Equal(t, "/jfs/huge", p)
	require.Equal(t, int64(10<<30), bytes)
	p, _, err = store.OversizeOf(ctx, []string{"/jfs/roothuge"}, 1<<30)
	require.NoError(t, err)
	require.Empty(t, p, "joining root's queued warm-up costs nothing more")
}
