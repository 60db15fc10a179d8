package integration

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// BenchmarkWarmupThroughDaemon: wall time of a warm-up through warmupd
// (submit, one walk into shards, juicefs warmup -f per shard, the --check
// verification, state warm as seen by a client polling every 20 ms) divided
// by `juicefs warmup DIR` run directly on an equal cold dataset, side by
// side in one run; median of 3 each, at the volume's bandwidth
// (testutil.DefaultBandwidth: the stand-in and a real client alike). Two
// datasets: 1 GiB of big files and 20 000 small files (issue 11: target
// ≤ 1.05×). It also reports the metadata walks a warm-up made beyond
// juicefs's own (target ≤ 1; the verifying --check is counted apart).
func BenchmarkWarmupThroughDaemon(b *testing.B) {
	for _, c := range []struct {
		name  string
		files int
		size  int64
	}{
		{"1GiB-of-64MiB-files", 16, 64 << 20},
		{"20000-files-of-16KiB", 20000, 16 << 10},
	} {
		b.Run(c.name, func(b *testing.B) {
			v := testutil.NewVolume(b)
			d := testutil.StartWarmupd(b, v, "--workers", "1", "--metrics", "127.0.0.1:0")
			url := metricsURL(b, d)
			const runs = 3
			var direct, daemon []time.Duration
			for i := range runs {
				runDirect := func() {
					p := writeCold(b, v, fmt.Sprintf("direct%d", i), c.files, c.size)
					t0 := time.Now()
					out, err := exec.Command(v.Binary, "warmup", p).CombinedOutput()
					require.NoError(b, err, "%s", out)
					direct = append(direct, time.Since(t0))
				}
				runDaemon := func() {
					q := writeCold(b, v, fmt.Sprintf("daemon%d", i), c.files, c.size)
					daemon = append(daemon, warmThrough(b, d, q))
				}
				if i%2 == 0 { // alternate which goes first: no order bias
					runDirect()
					runDaemon()
				} else {
					runDaemon()
					runDirect()
				}
			}
			m := scrapeMetrics(b, url)
			walks := func(kind string) float64 {
				return m.value("accel_data_dataset_walks_total", map[string]string{"kind": kind}) / runs
			}
			b.ReportMetric(float64(testutil.Median(direct).Milliseconds()), "direct-ms")
			b.ReportMetric(float64(testutil.Median(daemon).Milliseconds()), "daemon-ms")
			b.ReportMetric(float64(testutil.Median(daemon))/float64(testutil.Median(direct)), "daemon/direct")
			b.ReportMetric(walks(metrics.WalkList), "walks/warmup")
			b.ReportMetric(walks(metrics.WalkCheck), "verify-checks/warmup")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// warmThrough submits path to d and returns how long it took to be seen
// warm by a client polling every 20 ms.
func warmThrough(b testing.TB, d *testutil.Daemon, path string) time.Duration {
	ctx := context.Background()
	t0 := time.Now()
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{path}})
	require.NoError(b, err)
	for {
		qe, err := d.Client.Queue(ctx, true)
		require.NoError(b, err)
		for _, e := range qe.Entries {
			if e.Dataset == path && e.State.Terminal() {
				require.Equal(b, api.TaskWarm, e.State)
				return time.Since(t0)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeCold writes n files of size bytes under v.Mount/rel and then deletes
// every block file of the volume, so the new files start cold (a real
// client caches the small blocks it writes, some asynchronously: the
// blocks are dropped again after a second). It is much faster than
// Volume.WriteFiles for tens of thousands of files.
func writeCold(b testing.TB, v *testutil.Volume, rel string, n int, size int64) string {
	dir := filepath.Join(v.Mount, rel)
	require.NoError(b, os.MkdirAll(dir, 0o755))
	buf := make([]byte, size)
	for i := range n {
		binary.LittleEndian.PutUint64(buf, uint64(i)) // distinct content a file
		copy(buf[8:], rel)
		require.NoError(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.bin", i)), buf, 0o644))
	}
	dropBlocks(b, v)
	if v.Real {
		time.Sleep(time.Second)
		dropBlocks(b, v)
	}
	return dir
}
