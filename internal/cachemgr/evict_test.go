package cachemgr

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
)

// evictDriver is the cache manager's Driver for unit tests: it records the
// evictions asked of it; Check reports what is left.
type evictDriver struct {
	mu      sync.Mutex
	evicted []string
	left    float64 // cached ratio Check reports after an eviction
	err     error   // returned by EvictBlocks
}

func (f *evictDriver) Check(_ context.Context, paths []string) (*jfs.CheckResult, error) {
	const total = 8 << 20
	return &jfs.CheckResult{Files: 2, TotalBytes: total, CachedBytes: int64(f.left * total), Ratio: f.left}, nil
}

func (f *evictDriver) EvictBlocks(_ context.Context, paths []string) (*jfs.EvictResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evicted = append(f.evicted, paths...)
	return &jfs.EvictResult{Files: 2, Slices: 2, Blocks: 2, Bytes: 8<<20 + 1024}, f.err
}

// An eviction deletes the dataset's block files (EvictBlocks, not
// `juicefs warmup --evict`), records what --check finds afterwards, and says
// loudly when blocks are still there.
func TestEvictDeletesBlockFilesAndRecordsTheCheck(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	store, err := queue.Open(filepath.Join(t.TempDir(), "warmupd.db"), zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	require.NoError(t, store.SeedDatasets(ctx, []string{"/jfs/a", "/jfs/b"}, api.TaskWarm, t0))
	es, err := store.Queue(ctx, true)
	require.NoError(t, err)
	ids := map[string]int64{}
	for _, e := range es {
		ids[e.Dataset] = e.TaskID
	}

	var logs bytes.Buffer
	drv := &evictDriver{}
	m := New(Config{}, store, drv, zerolog.New(&logs), func() time.Time { return t0 })
	m.evicting[ids["/jfs/a"]] = true
	m.evict(ctx, planner.Eviction{ID: ids["/jfs/a"], Path: "/jfs/a", Bytes: 8 << 20, Reason: "make room for /jfs/c"}, t0)
	require.Equal(t, []string{"/jfs/a"}, drv.evicted)
	require.NotContains(t, m.evicting, ids["/jfs/a"], "done evicting")
	require.Contains(t, logs.String(), `"level":"info","block_files":2,"freed":8389632,"left":0,"dataset":"/jfs/a"`)
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
	drv.left, drv.err = 0.5, errors.New("jfs: evict: permission denied")
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
