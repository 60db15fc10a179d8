package e2e

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// job_submit.lua tags each --accel-data job with its token; warmupd reads
// `squeue --json`, learns when each pending job is expected to start, ranks a
// dataset needed in 10 minutes above one needed in 3 days, and cancels the
// warm-up of a job cancelled while pending.
func TestExpectedStartFromSqueue(t *testing.T) {
	squeue, err := exec.LookPath("squeue")
	require.NoError(t, err, "squeue is installed with the cluster (scripts/deps.sh)")
	w := setup(t, true, "", "--workers", "0", "--squeue", squeue, "--squeue-interval", "300ms")
	later := w.vol.WriteFiles(t, "later", 2, mib)
	soon := w.vol.WriteFiles(t, "soon", 2, mib)

	submit := func(begin, ds string) uint64 {
		out, stderr, err := run(t, nil, "sbatch", "--parsable", "--begin="+begin, "--accel-data="+ds, "--wrap", "true")
		require.NoError(t, err, stderr)
		id, err := strconv.ParseUint(strings.TrimSpace(strings.Split(out, ";")[0]), 10, 64)
		require.NoError(t, err)
		return id
	}
	laterJob := submit("now+3days", later)
	submit("now+10minutes", soon)

	factor := func(e api.PriorityEntry, name string) float64 {
		for _, f := range e.Factors {
			if f.Name == name {
				return f.Value
			}
		}
		return -1
	}
	var pr *api.PriorityResponse
	require.Eventually(t, func() bool {
		pr, err = w.d.Client.Priority(context.Background())
		return err == nil && len(pr.Entries) == 2 && factor(pr.Entries[0], "start_soon") > 0.5
	}, 20*time.Second, 100*time.Millisecond, "warmupd never learned the expected starts: %+v", pr)
	require.Equal(t, soon, pr.Entries[0].Dataset, "the dataset needed in 10 minutes ranks first")
	require.Equal(t, later, pr.Entries[1].Dataset)
	require.Less(t, factor(pr.Entries[1], "start_soon"), 0.1, "three days ahead scores next to nothing")

	_, _, err = run(t, nil, "scancel", strconv.FormatUint(laterJob, 10))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, e := range w.queue(t) {
			if e.Dataset == later {
				return e.State == api.TaskCancelled && strings.Contains(e.Reason, "no job needs it")
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "the warm-up of a job cancelled while pending is cancelled")
}
