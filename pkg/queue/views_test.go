package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestQueueOrderLikeDequeue(t *testing.T) {
	s, _ := open(t)
	items := submit(t, s, 1, t0, "/jfs/a", "/jfs/b", "/jfs/c", "/jfs/d")
	require.NoError(t, s.SetPriorities(ctx(), map[int64]float64{items[2].TaskID: 5, items[3].TaskID: 1}))
	warming, err := s.Dequeue(ctx(), "w", t0, time.Minute) // takes c (priority 5)
	require.NoError(t, err)
	require.Equal(t, "/jfs/c", warming.Path)
	done, err := s.Dequeue(ctx(), "w", t0, time.Minute) // takes d
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), done.ID, "w", queue.Outcome{State: api.TaskWarm}, t0))

	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	var got []string
	for _, e := range es {
		got = append(got, e.Dataset)
	}
	require.Equal(t, []string{"/jfs/c", "/jfs/a", "/jfs/b"}, got)
	all, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	require.Len(t, all, 4)
	require.Equal(t, "/jfs/d", all[3].Dataset)
	require.Equal(t, t0, all[3].CreatedAt)

	counts, err := s.Counts(ctx())
	require.NoError(t, err)
	require.Equal(t, map[api.TaskState]int{api.TaskQueued: 2, api.TaskWarming: 1, api.TaskWarm: 1,
		api.TaskPartial: 0, api.TaskFailed: 0, api.TaskCancelled: 0, api.TaskEvicted: 0}, counts)
}

func TestRecordCheckFillsCacheStatusTable(t *testing.T) {
	s, _ := open(t)
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/seen", queue.Check{Files: 10, Bytes: 1000, CachedBytes: 250, Ratio: 0.25}, t0))
	submit(t, s, 1, t0, "/jfs/queued")
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/seen", queue.Check{Files: 10, Bytes: 1000, CachedBytes: 500, Ratio: 0.5}, t0.Add(time.Minute)))
	ds, err := s.Datasets(ctx())
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, "/jfs/queued", ds[0].Path)
	require.Equal(t, api.TaskQueued, ds[0].State)
	require.Nil(t, ds[0].CheckedAt)
	seen := ds[1]
	require.Equal(t, api.Dataset{Path: "/jfs/seen", Bytes: 1000, Files: 10, CachedBytes: 500, CachedRatio: 0.5,
		CheckedAt: ptr(t0.Add(time.Minute)), RatioMethod: api.RatioWalked}, seen)

	// A checked dataset without a task gets one when asked for.
	it := submit(t, s, 1, t0, "/jfs/seen")[0]
	require.Equal(t, queue.OutcomeNew, it.Outcome)
}

func TestSeedDatasets(t *testing.T) {
	s, _ := open(t)
	require.NoError(t, s.SeedDatasets(ctx(), []string{"/jfs/s1", "/jfs/s2"}, api.TaskWarm, t0))
	require.ErrorContains(t, s.SeedDatasets(ctx(), []string{"/jfs/s3"}, api.TaskWarming, t0), "use queued or a terminal state")
	require.Error(t, s.SeedDatasets(ctx(), []string{"/jfs/s1"}, api.TaskWarm, t0), "paths must be new")
	counts, err := s.Counts(ctx())
	require.NoError(t, err)
	require.Equal(t, 2, counts[api.TaskWarm])
	it := submit(t, s, 1, t0, "/jfs/s1/sub")[0]
	require.Equal(t, queue.OutcomeNew, it.Outcome, "a warm parent does not cover: the path is checked for itself")
}

func ptr[T any](v T) *T { return &v }
