package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// A warm-up walks its dataset once, to cut it into shards of bounded bytes
// (here 8 MiB: three shards of two 4 MiB files), runs juicefs warmup -f for
// each, and checks it only to verify the result: no check before it, none
// for progress however many CheckIntervals it lasts.
func TestWarmupWalksTheDatasetOnce(t *testing.T) {
	t.Setenv(testutil.BandwidthEnv, "40") // 24 MiB: the warm-up lasts several progress periods
	v := testutil.NewVolume(t)
	ds := v.WriteFiles(t, "ds", 6, 4<<20)
	d := testutil.StartWarmupd(t, v, "--metrics", "127.0.0.1:0", "--shard-bytes", "8MiB", "--check-interval", "50ms")
	url := metricsURL(t, d)
	kind := func(k string) map[string]string { return map[string]string{"kind": k} }

	_, err := d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)
	es := d.WaitQueue(2*time.Minute, allTerminal)
	require.Equal(t, api.TaskWarm, es[0].State)
	require.Equal(t, jfs.MaxRoundedRatio, es[0].CachedRatio, "verified by --check")

	m := scrapeMetrics(t, url)
	require.Equal(t, 1.0, m.value("accel_data_dataset_walks_total", kind(metrics.WalkList)), "one walk to cut the dataset into shards")
	require.Equal(t, 1.0, m.value("accel_data_dataset_walks_total", kind(metrics.WalkCheck)), "one check: the verification")
	require.Equal(t, 1, d.CountLogs("warm-up started", `"shards":3`, `"files":6`, `"bytes":25165824`))
	require.Positive(t, m.value("accel_data_warmup_bytes_total", nil), "bytes warmed, from the mount's .stats")
}
