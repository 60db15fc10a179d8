package integration

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// With ReleaseAt=0.25 a job naming a cold dataset of 12 equal files is
// released by its prolog once the first 3 files (directory order) are
// verified warm, while the rest still warms; the rest ends warm. The first
// part is cut from the warm-up's one walk: one walk in all.
func TestReleaseAtReleasesThePrologWhenTheFirstQuarterIsWarm(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "8") // MiB/s; a real client is mounted with the equivalent --download-limit
	v := testutil.NewVolume(t)
	ds := v.WriteFiles(t, "ds", 12, 4<<20) // 48 MiB: six seconds at 8 MiB/s, the first quarter in 1.5
	d := testutil.StartWarmupd(t, v, "--release-at", "0.25", "--workers", "1", "--metrics", "127.0.0.1:0")
	ctx := context.Background()

	prolog := testutil.Binary(t, "cmd/slurm-prolog") // built first: the prolog waits while the first quarter warms
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}, Token: "tok-release", JobID: 7171, Source: api.SourceSubmit})
	require.NoError(t, err)
	pro := exec.Command(prolog, "--socket", d.Socket, "--poll-interval", "100ms", "--prolog-wait", "2m")
	pro.Env = []string{"SLURM_SCRIPT_CONTEXT=prolog_slurmd", "SLURM_JOB_ID=7171", "SLURM_JOB_UID=0", "SLURMD_NODENAME=n1",
		"SPANK_ACCEL_DATA=" + ds, "SPANK_ACCEL_TOKEN=tok-release", "ACCEL_DATA_CONF=/dev/null"}
	out, err := pro.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("prolog: %s", out)
	require.Contains(t, string(out), "reason=release-at", "%s", out)
	require.Contains(t, string(out), "the part jobs read first is warm", "%s", out)

	// What warmupd called warm is cached: the first three files, checked
	// here with the client itself.
	first := make([]string, 3)
	for i := range first {
		first[i] = filepath.Join(ds, fmt.Sprintf("f%04d.bin", i))
	}
	drv := &jfs.Driver{Binary: v.Binary}
	chk, err := drv.Check(ctx, first)
	require.NoError(t, err)
	require.GreaterOrEqual(t, chk.Ratio, 0.99, "the first quarter is cached when the job starts")
	require.Equal(t, 1, d.CountLogs("release-at warm-up: first part of the dataset (directory order) is warm; jobs may start"))
	require.Positive(t, d.CountLogs("release-at: first 25 % of bytes: 3 of 12 files"), "the note swarmup queue shows while it warms")

	// The rest is warmed all the same.
	es := d.WaitQueue(2*time.Minute, func(es []api.QueueEntry) bool { return byDataset(es)[ds].State == api.TaskWarm })
	require.Equal(t, api.TaskWarm, byDataset(es)[ds].State)
	chk, err = drv.Check(ctx, []string{ds})
	require.NoError(t, err)
	require.GreaterOrEqual(t, chk.Ratio, 0.99)
	m := scrapeMetrics(t, metricsURL(t, d))
	require.LessOrEqual(t, m.value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkList}), 1.0, "walks per warm-up with ReleaseAt on")
}
