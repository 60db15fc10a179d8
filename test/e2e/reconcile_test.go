package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// A job whose epilog cannot reach warmupd (here warmupd crashed, kill -9,
// while the job ran, and is restarted after the job finished) is not left
// "started" forever, pinning its data: the epilog gives up after a few
// seconds (the node is not drained), and once warmupd runs again it learns
// from squeue that the job finished and ends it.
func TestGhostJobIsReconciledWithSqueue(t *testing.T) {
	squeue, err := exec.LookPath("squeue")
	require.NoError(t, err, "squeue is installed with the cluster (scripts/deps.sh)")
	w := setup(t, true, "", "--squeue", squeue, "--squeue-interval", "300ms", "--squeue-grace", "1s")
	ds := w.vol.WriteFiles(t, "ghost", 2, mib)

	out, stderr, err := run(t, nil, "sbatch", "--parsable", "-N1", "-o", filepath.Join(cl.out, "%j.out"), "--accel-data="+ds, "--wrap", "sleep 3")
	require.NoError(t, err, stderr)
	id, err := strconv.ParseUint(strings.TrimSpace(strings.Split(out, ";")[0]), 10, 64)
	require.NoError(t, err)
	require.Contains(t, waitPrologLine(t, id, "prolog"), "reason=warm")
	st, err := w.d.Client.JobStatus(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, api.JobStarted, st.State)

	w.d.Kill()
	waitDone(t, 60*time.Second, id)
	line := waitPrologLine(t, id, "epilog")
	require.Contains(t, line, "reason=daemon-down", "the epilog could not reach the crashed warmupd")
	require.Contains(t, line, "retries=", "it tried again for a few seconds")
	requireNoDrain(t)
	w.d.Start()

	require.Eventually(t, func() bool {
		st, err := w.d.Client.JobStatus(context.Background(), id)
		return err == nil && st.State == api.JobEnded
	}, 30*time.Second, 200*time.Millisecond, "warmupd ends the job squeue lists as finished")
	require.Equal(t, 1, w.d.CountLogs("ended jobs that squeue no longer lists as live", strconv.FormatUint(id, 10)), "and says so")
}
