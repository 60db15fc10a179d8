package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/cachemgr"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
)

// BenchmarkRefresh1M: the cache-table refresh of a warm dataset of 1 000 000
// small files (ACCEL_BENCH_FILES changes the count): a full `juicefs warmup
// --check` of the directory against warmupd's sampled check (cachemgr.Sampler:
// a random sample of the dataset's manifest, ±0.9 % at 99 %; target <= 1 s),
// medians of 3 and 5, their ratio, and the one walk that writes the manifest.
// Also `swarmup datasets` (the table with the dataset among 10 000 others,
// median of 5). The files are written straight into the mount (4 KiB each,
// 1 000 per directory) and warmed with one `juicefs warmup`, so the same
// benchmark runs on a real client.
func BenchmarkRefresh1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ACCEL_BENCH_FILES")); err == nil && v > 0 {
		n = v
	}
	v, d := seededDaemon(b, 10_000, 0)
	dir := filepath.Join(v.Mount, "big")
	began := time.Now()
	writeSmallFiles(b, dir, n, 4096)
	wrote := time.Since(began)
	ctx := context.Background()
	drv := &jfs.Driver{Binary: v.Binary}
	began = time.Now()
	_, err := drv.Warmup(ctx, []string{dir})
	require.NoError(b, err)
	warmed := time.Since(began)

	var full []time.Duration
	var r *jfs.CheckResult
	for range 3 {
		t0 := time.Now()
		r, err = drv.Check(ctx, []string{dir})
		require.NoError(b, err)
		full = append(full, time.Since(t0))
	}
	require.Equal(b, int64(n), r.Files)

	s := cachemgr.NewSampler(b.TempDir(), 0.99, drv, zerolog.Nop(), 0)
	t0 := time.Now()
	s.Remember(ctx, dir)
	walk := time.Since(t0)
	var sampled []time.Duration
	var c queue.Check
	for range 5 {
		t0 := time.Now()
		var verdict cachemgr.Verdict
		c, verdict, err = s.Check(ctx, dir)
		sampled = append(sampled, time.Since(t0))
		require.NoError(b, err)
		require.Equal(b, cachemgr.Warm, verdict)
	}
	require.Equal(b, api.RatioSampled, c.Method, "a warm dataset this big is checked by a sample")
	require.InDelta(b, r.Ratio, c.Ratio, c.Bound, "the sample agrees with the full check within its bound")

	// swarmup datasets: the table of 10 000 datasets.
	var table []time.Duration
	bin := testutil.Binary(b, "cmd/swarmup")
	for range 5 {
		cmd := exec.Command(bin, "datasets", "--socket", d.Socket)
		cmd.Env = append(os.Environ(), "ACCEL_DATA_CONF=/dev/null")
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		table = append(table, time.Since(t0))
		require.NoError(b, err, "%s", out)
	}

	fullMed, sampledMed := testutil.Median(full), testutil.Median(sampled)
	b.ReportMetric(float64(n), "files")
	b.ReportMetric(fullMed.Seconds(), "full-check-s")
	b.ReportMetric(sampledMed.Seconds(), "sampled-s")
	b.ReportMetric(fullMed.Seconds()/sampledMed.Seconds(), "full/sampled")
	b.ReportMetric(float64(c.Sample), "sample-files")
	b.ReportMetric(100*c.Bound, "bound-%")
	b.ReportMetric(walk.Seconds(), "manifest-walk-s")
	b.ReportMetric(ms(testutil.Median(table)), "datasets-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d files: written in %v, warmed in %v; full --check %v, sampled %v (%d files, ratio %.4f ±%.2g%%), manifest walk %v; swarmup datasets %v",
		n, wrote.Round(time.Millisecond), warmed.Round(time.Millisecond), fullMed.Round(time.Millisecond), sampledMed.Round(time.Millisecond),
		c.Sample, c.Ratio, 100*c.Bound, walk.Round(time.Millisecond), testutil.Median(table).Round(time.Millisecond))
}

// writeSmallFiles writes n files of size bytes under dir, 1 000 per
// subdirectory, each with its own content (two writers).
func writeSmallFiles(b *testing.B, dir string, n int, size int) {
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, size)
			for i := w; i < n; i += 2 {
				sub := filepath.Join(dir, fmt.Sprintf("d%04d", i/1000))
				if i%1000 < 2 {
					if err := os.MkdirAll(sub, 0o755); err != nil {
						errs <- err
						return
					}
				}
				copy(buf, strconv.Itoa(i))
				if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%07d", i)), buf, 0o644); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
}
