package cachemgr

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/manifest"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// sampledSet scripts a dataset of n files of size bytes each in d (every
// uncachedEvery-th file not cached; 0: all cached) and writes its manifest
// into dir. The dataset's own full check reports the same totals.
func sampledSet(t *testing.T, d *fakeDriver, dir, dataset string, n int, size int64, uncachedEvery int) {
	t.Helper()
	files := make([]manifest.File, n)
	var cachedTotal int64
	for i := range files {
		p := fmt.Sprintf("%s/f%07d", dataset, i)
		files[i] = manifest.File{Path: p, Size: size}
		cached := size
		if uncachedEvery > 0 && i%uncachedEvery == 0 {
			cached = 0
		}
		d.set(p, size, cached)
		cachedTotal += cached
	}
	d.set(dataset, int64(n)*size, cachedTotal)
	require.NoError(t, manifest.Write(dir, dataset, files, manifest.Info{Files: int64(n), Bytes: int64(n) * size, MaxSize: size, WalkedAt: t0}))
}

func newSampler(t *testing.T, dir string, d *fakeDriver, seed uint64) *Sampler {
	return NewSampler(dir, 0.99, d, zerolog.New(zerolog.NewTestWriter(t)), seed)
}

// The sample is sized for the bound at the target, whatever the dataset's
// size, and grows with the spread of file sizes; the bound is tight near
// 100 % and never wider than Hoeffding's.
func TestSampleSize(t *testing.T) {
	eq := manifest.Info{Files: 1_000_000, Bytes: 4096 * 1_000_000, MaxSize: 4096}
	n := SampleSize(eq, 0.009, 0.99)
	require.InDelta(t, 2879, n, 1, "ln(200)·(2·0.01 + 8/3·0.009)/0.009²")
	require.Equal(t, n, SampleSize(manifest.Info{Files: 10_000_000, Bytes: 4096 * 10_000_000, MaxSize: 4096}, 0.009, 0.99), "independent of the dataset's size")
	require.LessOrEqual(t, SampleBound(eq, n, 0.99), 0.009, "±0.9 % at the target")
	require.Greater(t, SampleBound(eq, n-100, 0.99), 0.009)
	require.Less(t, SampleBound(eq, n, 0.9995), 0.0055, "tighter when (nearly) all is cached")
	require.InDelta(t, math.Sqrt(math.Log(200)/(2*float64(n))), SampleBound(eq, n, 0.5), 1e-9, "Hoeffding where it is tighter")
	require.InDelta(t, 26_492, SampleSize(eq, 0.01, 0.5), 1, "a 50 % target: Hoeffding, ln(200)/(2·0.01²)")
	spread := manifest.Info{Files: 1_000_000, Bytes: 4096 * 1_000_000, MaxSize: 2 * 4096}
	require.InDelta(t, 2*n, SampleSize(spread, 0.009, 0.99), 2)
	require.Equal(t, int64(1000), SampleSize(manifest.Info{Files: 1000, Bytes: 4096 * 1000, MaxSize: 4096}, 0.001, 0.99), "never more than every file")
}

// A warm dataset with a manifest is verified from a sample: one check of the
// sampled files, no walk of the dataset, and the ratio comes with its bound.
func TestSamplerWarmFromASample(t *testing.T) {
	d, dir := newDriver(), t.TempDir()
	sampledSet(t, d, dir, "/jfs/ds", 100_000, 4096, 0)
	s := newSampler(t, dir, d, 1)
	c, v, err := s.Check(context.Background(), "/jfs/ds")
	require.NoError(t, err)
	require.Equal(t, Warm, v)
	require.Equal(t, api.RatioSampled, c.Method)
	require.Zero(t, d.checksOf("/jfs/ds"), "no walk")
	require.Equal(t, SampleSize(manifest.Info{Files: 100_000, Bytes: 4096 * 100_000, MaxSize: 4096}, s.eps(), 0.99), c.Sample)
	require.Less(t, c.Bound, 0.01)
	require.Equal(t, 1.0, c.Ratio)
	require.Equal(t, int64(100_000), c.Files)
}

// A dataset missing 5 % of its blocks is found short by the sample alone,
// and over many samples the estimate is within its bound.
func TestSamplerShortAndWithinItsBound(t *testing.T) {
	d, dir := newDriver(), t.TempDir()
	sampledSet(t, d, dir, "/jfs/ds", 100_000, 4096, 20)
	for seed := uint64(1); seed <= 10; seed++ {
		s := newSampler(t, dir, d, seed)
		c, v, err := s.Check(context.Background(), "/jfs/ds")
		require.NoError(t, err)
		require.Equal(t, Short, v)
		require.Equal(t, api.RatioSampled, c.Method)
		require.InDelta(t, 0.95, c.Ratio, c.Bound, "seed %d", seed)
	}
	require.Zero(t, d.checksOf("/jfs/ds"))
}

// A sample that cannot tell warm from short (the ratio is within its bound
// of the target) is settled by a full check.
func TestSamplerInconclusiveWalks(t *testing.T) {
	d, dir := newDriver(), t.TempDir()
	sampledSet(t, d, dir, "/jfs/ds", 100_000, 4096, 100) // 99 % cached, the target
	c, v, err := newSampler(t, dir, d, 3).Check(context.Background(), "/jfs/ds")
	require.NoError(t, err)
	require.Equal(t, 1, d.checksOf("/jfs/ds"))
	require.Equal(t, api.RatioWalked, c.Method)
	require.Equal(t, Warm, v, "the full check found exactly the target")
}

// A sample that finds files gone (or of another size) means the dataset
// changed: it is walked again and checked in full.
func TestSamplerChangedDatasetWalksAgain(t *testing.T) {
	d, dir := newDriver(), t.TempDir()
	ds := filepath.Join(t.TempDir(), "ds")
	sampledSet(t, d, dir, ds, 100_000, 4096, 0)
	// The files are gone: the fake driver counts them as empty.
	for i := range 100_000 {
		d.set(fmt.Sprintf("%s/f%07d", ds, i), 0, 0)
	}
	require.NoError(t, os.MkdirAll(ds, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "new"), make([]byte, 10), 0o644))
	c, _, err := newSampler(t, dir, d, 1).Check(context.Background(), ds)
	require.NoError(t, err)
	require.Equal(t, 1, d.checksOf(ds))
	require.Equal(t, api.RatioWalked, c.Method)
	info, err := manifest.ReadInfo(dir, ds)
	require.NoError(t, err)
	require.Equal(t, int64(1), info.Files, "the manifest was written afresh from a walk")
}

// Without a manifest the first check walks and writes one; a small dataset
// (a sample would be half its files) is always checked in full.
func TestSamplerFirstCheckWritesTheManifest(t *testing.T) {
	d, dir := newDriver(), t.TempDir()
	ds := filepath.Join(t.TempDir(), "ds")
	require.NoError(t, os.MkdirAll(filepath.Join(ds, "sub"), 0o755))
	for i := range 10 {
		require.NoError(t, os.WriteFile(filepath.Join(ds, "sub", fmt.Sprint(i)), make([]byte, 100), 0o644))
	}
	d.set(ds, 1000, 1000)
	s := newSampler(t, dir, d, 1)
	for range 2 {
		c, v, err := s.Check(context.Background(), ds)
		require.NoError(t, err)
		require.Equal(t, Warm, v)
		require.Equal(t, api.RatioWalked, c.Method)
	}
	require.Equal(t, 2, d.checksOf(ds))
	info, err := manifest.ReadInfo(dir, ds)
	require.NoError(t, err)
	require.Equal(t, manifest.Info{Files: 10, Bytes: 1000, MaxSize: 100, WalkedAt: info.WalkedAt}, info)
}

// The Verifier re-verifies stale warm data by a sample, records how the
// ratio was obtained, and the cache table shows it.
func TestVerifierRecordsASampledRatio(t *testing.T) {
	st, d, c, dir := queuetest.Open(t), newDriver(), testutil.NewClock(), t.TempDir()
	warmJob(t, st, 1, t0, "/jfs/big")
	sampledSet(t, d, dir, "/jfs/big", 100_000, 4096, 0)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second, Sampler: newSampler(t, dir, d, 1)}, st, d, c)
	c.Add(6 * time.Second)
	require.True(t, jobAnswer(t, st, v, 1).Warm)
	require.Zero(t, d.checksOf("/jfs/big"), "no walk")
	ds, err := st.Datasets(context.Background())
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, api.RatioSampled, ds[0].RatioMethod)
	require.Positive(t, ds[0].RatioSample)
	require.Positive(t, ds[0].RatioBound)
	require.Less(t, ds[0].RatioBound, 0.009)
	require.Equal(t, c.Now(), *ds[0].CheckedAt)
}

// The periodic refresh of a warm dataset with a manifest checks a sample:
// all cached, it stays warm without a walk; with 5 % of its blocks gone the
// sample alone finds it short and it is marked evicted (no job needs it).
func TestRefreshSamplesWarmDatasets(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t, Config{RefreshInterval: 10 * time.Minute})
	r.m.cfg.Sampler = newSampler(t, dir, r.drv, 1)
	id := r.warm("/jfs/big", 100_000*4096)
	sampledSet(t, r.drv, dir, "/jfs/big", 100_000, 4096, 0)
	ctx := context.Background()

	r.clk.Add(time.Hour)
	require.True(t, r.m.refreshOne(ctx))
	require.Zero(t, r.drv.checksOf("/jfs/big"), "no walk")
	ds, err := r.store.Datasets(ctx)
	require.NoError(t, err)
	require.Equal(t, api.RatioSampled, ds[0].RatioMethod)
	require.Equal(t, api.TaskWarm, r.state(id).State)

	sampledSet(t, r.drv, dir, "/jfs/big", 100_000, 4096, 20)
	r.clk.Add(time.Hour)
	require.True(t, r.m.refreshOne(ctx))
	require.Zero(t, r.drv.checksOf("/jfs/big"), "the sample alone tells it is short")
	require.Equal(t, api.TaskEvicted, r.state(id).State)
	ds, err = r.store.Datasets(ctx)
	require.NoError(t, err)
	require.Equal(t, api.RatioInferred, ds[0].RatioMethod, "evicted: ratio 0 without a check")
}
