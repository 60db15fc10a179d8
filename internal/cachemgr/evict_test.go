package cachemgr

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// An eviction deletes the dataset's block files (EvictBlocks, not
// `juicefs warmup --evict`), records what --check finds afterwards, and says
// loudly when blocks are still there.
func TestEvictDeletesBlockFilesAndRecordsTheCheck(t *testing.T) {
	ctx := context.Background()
	store := queuetest.Open(t)
	require.NoError(t, store.SeedDatasets(ctx, []string{"/jfs/a", "/jfs/b"}, api.TaskWarm, t0))
	es, err := store.Queue(ctx, true)
	require.NoError(t, err)
	ids := map[string]int64{}
	for _, e := range es {
		ids[e.Dataset] = e.TaskID
	}

	var logs bytes.Buffer
	drv := newDriver()
	drv.set("/jfs/a", 8<<20, 8<<20)
	drv.set("/jfs/b", 8<<20, 8<<20)
	m := New(Config{}, store, drv, zerolog.New(&logs), testutil.NewClock().Now)
	m.evicting[ids["/jfs/a"]] = true
	m.evict(ctx, planner.Eviction{ID: ids["/jfs/a"], Path: "/jfs/a", Bytes: 8 << 20, Reason: "make room for /jfs/c"}, t0)
	require.Equal(t, []string{"/jfs/a"}, drv.evictedPaths())
	require.NotContains(t, m.evicting, ids["/jfs/a"], "done evicting")
	require.Contains(t, logs.String(), `"level":"info","block_files":2,"freed":8388608,"left":0,"dataset":"/jfs/a"`)
	require.Contains(t, logs.String(), `"message":"evicted"`)
	es, err = store.Queue(ctx, true)
	require.NoError(t, err)
	for _, e := range es {
		if e.Dataset == "/jfs/a" {
			require.Equal(t, api.TaskEvicted, e.State)
		}
	}

	// Blocks left after the eviction (or an eviction that failed): a warning,
	// and the store has what --check found, not 0.
	logs.Reset()
	drv.evictFails(0.5, errors.New("jfs: evict: permission denied"))
	m.evict(ctx, planner.Eviction{ID: ids["/jfs/b"], Path: "/jfs/b", Bytes: 8 << 20, Reason: "make room"}, t0)
	require.Contains(t, logs.String(), "eviction failed")
	require.Contains(t, logs.String(), `"level":"warn"`)
	require.Contains(t, logs.String(), "still finds blocks of it")
	ds, err := store.Datasets(ctx)
	require.NoError(t, err)
	for _, d := range ds {
		if d.Path == "/jfs/b" {
			require.Equal(t, int64(4<<20), d.CachedBytes, "the check after the eviction is recorded")
		}
	}
}
