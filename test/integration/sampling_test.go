package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// A job waits with the long poll (GET /v1/jobs/{id}/wait) and is answered
// when its dataset is warm; the periodic refresh then walks the warm dataset
// once (writing its manifest) and later checks it by a random sample of its
// files (`juicefs warmup --check -f LIST`), which `swarmup datasets` shows
// as sampled with its bound; when its blocks are dropped behind warmupd's
// back, a sampled refresh finds it short and warms it again for the job.
func TestSampledRefreshAndLongPoll(t *testing.T) {
	v := testutil.NewVolume(t)
	ds := v.WriteFiles(t, "many", 6000, 1024) // a sample (2 879 files) is less than half of it
	d := testutil.StartWarmupd(t, v, "--refresh-interval", "1s")
	ctx := context.Background()
	st, err := d.Client.JobStart(ctx, 1, api.JobStartRequest{Paths: []string{ds}, Node: "n1"})
	require.NoError(t, err)
	for deadline := time.Now().Add(2 * time.Minute); !st.Ready; {
		require.True(t, time.Now().Before(deadline), "not ready after 2 minutes: %+v", st.Datasets)
		st, err = d.Client.JobWait(ctx, 1, time.Minute)
		require.NoError(t, err)
	}
	require.True(t, st.Warm, "%+v", st.Datasets)

	var row api.Dataset
	require.Eventually(t, func() bool {
		row = datasetRow(t, d, ds)
		return row.RatioMethod == api.RatioSampled
	}, 2*time.Minute, 200*time.Millisecond, "the refresh never sampled the warm dataset")
	require.Equal(t, int64(6000), row.Files)
	require.Positive(t, row.RatioSample)
	require.Less(t, row.RatioSample, int64(3000))
	require.Greater(t, row.RatioBound, 0.0)
	require.LessOrEqual(t, row.RatioBound, 0.01)
	require.GreaterOrEqual(t, row.CachedRatio-row.RatioBound, 0.99)

	require.Positive(t, dropBlocks(t, v))
	require.Eventually(t, func() bool {
		return d.CountLogs("lost blocks") > 0
	}, 2*time.Minute, 200*time.Millisecond, "no refresh found the dropped blocks")
	require.Eventually(t, func() bool {
		st, err := d.Client.JobStatus(ctx, 1)
		require.NoError(t, err)
		return st.Warm
	}, 2*time.Minute, 200*time.Millisecond, "warmed again for the job")
}

// slurm-prolog waits with the long poll: every request after the job start
// is a GET /v1/jobs/{id}/wait, none is a poll of GET /v1/jobs/{id}, and it
// ends with the data warm.
func TestPrologWaitsWithTheLongPoll(t *testing.T) {
	t.Setenv(testutil.BandwidthEnv, "2") // 4 MiB: a warm-up of about 2 s
	v := testutil.NewVolume(t)
	ds := v.WriteFiles(t, "ds", 1, 4<<20)
	d := testutil.StartWarmupd(t, v)
	cmd, out := prologCmd(t, d.Socket, "prolog_slurmd", "121", ds, "--prolog-wait", "2m", "--prolog-stop-early=false")
	require.NoError(t, cmd.Run(), out.String())
	require.Contains(t, out.String(), "reason=warm", out.String())
	require.Positive(t, d.CountLogs(`"url":"/v1/jobs/121/wait?timeout=`))
	require.Zero(t, d.CountLogs(`"url":"/v1/jobs/121"`), "no poll")
}
