package cachemgr

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/manifest"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// cachedChecker is a driver whose every file is cached and which answers at
// once: what is left of a sampled check is warmupd's own share.
type cachedChecker struct{}

func (cachedChecker) Check(_ context.Context, paths []string) (*jfs.CheckResult, error) {
	n := int64(len(paths))
	return &jfs.CheckResult{Files: n, TotalBytes: 4096 * n, CachedBytes: 4096 * n, Ratio: 1}, nil
}

// BenchmarkSampledCheck1M: warmupd's own share of a sampled check of a
// 1 000 000-file dataset (draw, one pass over the manifest, the estimate),
// without the `juicefs warmup --check` of the sample. Median of 11.
func BenchmarkSampledCheck1M(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	files := make([]manifest.File, n)
	for i := range files {
		files[i] = manifest.File{Path: fmt.Sprintf("/jfs/big/d%04d/f%07d", i/1000, i), Size: 4096}
	}
	require.NoError(b, manifest.Write(dir, "/jfs/big", files, manifest.Info{Files: n, Bytes: 4096 * n, MaxSize: 4096, WalkedAt: t0}))
	s := NewSampler(dir, 0.99, cachedChecker{}, zerolog.Nop(), 1)
	var lat []time.Duration
	for range 11 {
		t0 := time.Now()
		c, v, err := s.Check(context.Background(), "/jfs/big")
		lat = append(lat, time.Since(t0))
		require.NoError(b, err)
		require.Equal(b, Warm, v)
		require.InDelta(b, 2879, c.Sample, 20)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[5].Microseconds())/1000, "median-ms")
	b.ReportMetric(0, "ns/op")
}
