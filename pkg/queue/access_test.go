package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func accessReport(node string, job uint64, final bool, hit, miss int64, paths ...api.PathAccess) api.AccessReport {
	return api.AccessReport{Node: node, Mount: "/jfs", Lines: 100, Dropped: 1,
		Config: &api.MountReport{FSType: "fuse.juicefs", CacheDir: "/beegfs/jfscache/u", CacheScanInterval: -1, CacheEviction: "2-random"},
		Jobs:   []api.JobAccess{{JobID: job, Final: final, HitBytes: hit, MissBytes: miss, GetBytes: miss, Paths: paths}}}
}

func TestAccessHistoryJobIOAndDensity(t *testing.T) {
	s, _ := open(t)
	// ds is 1000 bytes: train 400, val 600.
	submitForJob(t, s, 1000, 7, "/jfs/ds")
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/ds", queue.Check{Files: 10, Bytes: 1000}, t0))
	_, err := s.JobStart(ctx(), 7, queue.JobStartParams{Token: "t", Node: "n1", UID: 1000, Now: t0})
	require.NoError(t, err)

	r1 := t0.Add(5 * time.Second)
	train := api.PathAccess{Dataset: "/jfs/ds", Subpath: "train", Bytes: 300, DistinctBytes: 300, Files: 3, First: r1, Last: r1}
	rec, err := s.RecordAccess(ctx(), accessReport("n1", 7, false, 100, 200, train), r1)
	require.NoError(t, err)
	require.Equal(t, 1, rec.Jobs)
	// the second report adds deltas: 100 more bytes of train, now final
	train2 := api.PathAccess{Dataset: "/jfs/ds", Subpath: "train", Bytes: 100, DistinctBytes: 100, Files: 1, First: r1.Add(time.Second), Last: r1.Add(2 * time.Second)}
	_, err = s.RecordAccess(ctx(), accessReport("n1", 7, true, 100, 0, train2), r1.Add(3*time.Second))
	require.NoError(t, err)
	// the same job on a second node read the same files: density counts them once
	_, err = s.RecordAccess(ctx(), accessReport("n2", 7, true, 400, 0, api.PathAccess{Dataset: "/jfs/ds", Subpath: "train", Bytes: 400, DistinctBytes: 400, Files: 4, First: r1, Last: r1}), r1)
	require.NoError(t, err)

	io, err := s.JobIO(ctx(), 7)
	require.NoError(t, err)
	require.Equal(t, int64(800), io.Bytes)
	require.Equal(t, int64(600), io.HitBytes)
	require.Equal(t, int64(200), io.MissBytes)
	require.InDelta(t, 0.75, io.HitRatio, 1e-9)
	require.Len(t, io.Nodes, 2)
	require.Equal(t, "n1", io.Nodes[0].Node)
	require.Equal(t, int64(400), io.Nodes[0].Bytes)
	require.InDelta(t, 200.0/400, io.Nodes[0].HitRatio, 1e-9)
	require.True(t, io.Final)
	require.Equal(t, []api.SubpathIO{{Dataset: "/jfs/ds", Subpath: "train", Bytes: 800, Files: 8}}, io.Subpaths)
	require.InDelta(t, 5, io.PrologWaitSeconds, 1e-9, "prolog start to first read")
	require.Len(t, io.Mounts, 2)
	require.Equal(t, float64(-1), io.Mounts[0].CacheScanInterval)

	ds, err := s.Datasets(ctx())
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NotNil(t, ds[0].ReadDensity)
	require.InDelta(t, 0.4, *ds[0].ReadDensity, 1e-6, "400 distinct bytes of 1000")
	require.NotNil(t, ds[0].HitRatio)
	require.InDelta(t, 0.75, *ds[0].HitRatio, 1e-6)

	pd, err := s.PlanDatasets(ctx(), r1)
	require.NoError(t, err)
	require.Len(t, pd, 1)
	require.InDelta(t, 0.4, pd[0].HitRate, 1e-6, "the priority's hit-rate factor is the read density")

	_, err = s.JobIO(ctx(), 8)
	require.ErrorIs(t, err, queue.ErrNotFound)
	_, err = s.RecordAccess(ctx(), api.AccessReport{}, r1)
	require.ErrorIs(t, err, queue.ErrNoNode)
}

// Without access history the factor stays unknown; history decays.
func TestAccessHistoryDecays(t *testing.T) {
	s, _ := open(t)
	submit(t, s, 0, t0, "/jfs/a")
	pd, err := s.PlanDatasets(ctx(), t0)
	require.NoError(t, err)
	require.Equal(t, float64(-1), pd[0].HitRate)

	p := api.PathAccess{Dataset: "/jfs/a", Subpath: ".", Bytes: 1000, DistinctBytes: 1000, Files: 1, First: t0, Last: t0}
	_, err = s.RecordAccess(ctx(), accessReport("n1", 1, true, 0, 1000, p), t0)
	require.NoError(t, err)
	_, err = s.RecordAccess(ctx(), accessReport("n1", 2, true, 1000, 0, p), t0.Add(queue.UseHalfLife))
	require.NoError(t, err)
	st, err := s.AccessStats(ctx())
	require.NoError(t, err)
	a := st["/jfs/a"]
	require.NotNil(t, a)
	// misses 1000 halved to 500, hits 1000: 1000/1500
	require.InDelta(t, 2.0/3, a.HitRatio, 1e-6)
	require.Equal(t, int64(1500), a.Subpaths[0].Bytes, "bytes read decay too: 500 + 1000")
	require.Equal(t, float64(-1), a.Density, "size not measured yet")
}

// Jobs read only train: the next warm-up of ds may warm train first.
func TestHotSubpaths(t *testing.T) {
	s, _ := open(t)
	submit(t, s, 0, t0, "/jfs/ds")
	hot, _, err := s.HotSubpaths(ctx(), "/jfs/ds", 0.9)
	require.NoError(t, err)
	require.Empty(t, hot, "no history")
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/ds", queue.Check{Files: 10, Bytes: 1000}, t0))
	_, err = s.RecordAccess(ctx(), accessReport("n1", 1, true, 0, 0,
		api.PathAccess{Dataset: "/jfs/ds", Subpath: "train", Bytes: 300, DistinctBytes: 300, Files: 3, First: t0, Last: t0},
		api.PathAccess{Dataset: "/jfs/ds", Subpath: "aux", Bytes: 50, DistinctBytes: 50, Files: 1, First: t0, Last: t0}), t0)
	require.NoError(t, err)
	hot, share, err := s.HotSubpaths(ctx(), "/jfs/ds", 0.9)
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds/train", "/jfs/ds/aux"}, hot, "busiest first")
	require.InDelta(t, 0.35, share, 1e-6)
	hot, _, err = s.HotSubpaths(ctx(), "/jfs/ds", 0.3)
	require.NoError(t, err)
	require.Empty(t, hot, "they hold more than maxShare: narrowing would not help")
}

// Per-job reports are kept AccessRetention after their last update.
func TestAccessReportsArePruned(t *testing.T) {
	s, _ := open(t)
	p := api.PathAccess{Dataset: "/jfs/a", Subpath: ".", Bytes: 10, DistinctBytes: 10, Files: 1, First: t0, Last: t0}
	_, err := s.RecordAccess(ctx(), accessReport("n1", 1, true, 0, 0, p), t0)
	require.NoError(t, err)
	_, err = s.RecordAccess(ctx(), accessReport("n1", 2, true, 0, 0, p), t0.Add(queue.AccessRetention-time.Hour))
	require.NoError(t, err)
	_, err = s.JobIO(ctx(), 1)
	require.NoError(t, err)
	_, err = s.RecordAccess(ctx(), accessReport("n1", 3, true, 0, 0, p), t0.Add(queue.AccessRetention+time.Hour))
	require.NoError(t, err)
	_, err = s.JobIO(ctx(), 1)
	require.ErrorIs(t, err, queue.ErrNotFound, "job 1's report is older than AccessRetention")
	io, err := s.JobIO(ctx(), 2)
	require.NoError(t, err)
	require.Len(t, io.Subpaths, 1)
	st, err := s.AccessStats(ctx())
	require.NoError(t, err)
	require.NotNil(t, st["/jfs/a"], "the dataset's history stays")
}
