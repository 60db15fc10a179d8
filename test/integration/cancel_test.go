package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// warmupProcesses lists the `juicefs warmup` processes (fetches, not
// `--check` or `--evict`) that the daemon with pid parent runs now. The
// volume's own `juicefs mount` daemons, and other tests' processes, are
// not counted.
func warmupProcesses(t *testing.T, parent int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := testutil.ProcStat(pid)
		if len(f) < 2 || f[0] == "Z" || f[1] != strconv.Itoa(parent) {
			continue // a zombie is not running; another parent is not ours
		}
		argv := testutil.Argv(filepath.Join("/proc", e.Name(), "cmdline"))
		if len(argv) > 1 && argv[1] == "warmup" && !slices.Contains(argv, "--check") && !slices.Contains(argv, "--evict") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Cancelling a warming task kills its `juicefs warmup` at once, not at the
// worker's next heartbeat (a third of the 30 s lease); the fetch does not
// run on to 100 % and the task stays cancelled.
func TestCancelStopsTheJuicefsWarmupAtOnce(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "8") // MiB/s; a real client is throttled by the volume's mount
	v := testutil.NewVolume(t)
	big := v.WriteFiles(t, "big", 40, 4<<20) // 160 MiB: about 20 s at 8 MiB/s
	d := testutil.StartWarmupd(t, v, "--warm-threads", "2", "--lease", "30s")
	ctx := context.Background()
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{big}})
	require.NoError(t, err)
	es := d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool {
		return len(es) == 1 && (es[0].State.Terminal() || es[0].State == api.TaskWarming && es[0].CachedBytes > 0)
	})
	require.Equal(t, api.TaskWarming, es[0].State, "the warm-up ended before it could be cancelled (the volume must be slow enough)")
	require.NotEmpty(t, warmupProcesses(t, d.Pid()), "juicefs warmup is not running while the task warms")

	r, err := d.Client.Cancel(ctx, api.CancelRequest{TaskIDs: []int64{es[0].TaskID}})
	require.NoError(t, err)
	cancelled := time.Now()
	require.Equal(t, []int64{es[0].TaskID}, r.Cancelled)
	var left []int
	for {
		if left = warmupProcesses(t, d.Pid()); len(left) == 0 || time.Since(cancelled) > 2*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Empty(t, left, "juicefs warmup still runs %v after the cancel", time.Since(cancelled).Round(time.Millisecond))
	t.Logf("juicefs warmup gone %v after the cancel", time.Since(cancelled).Round(time.Millisecond))
	require.Eventually(t, func() bool { return d.CountLogs("warm-up stopped", big) == 1 }, 10*time.Second, 20*time.Millisecond,
		"the worker says it stopped")

	q, err := d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Len(t, q.Entries, 1)
	require.Equal(t, api.TaskCancelled, q.Entries[0].State, "the stopped attempt records nothing")
	require.Less(t, q.Entries[0].CachedRatio, jfs.MaxRoundedRatio, fmt.Sprintf("the fetch stopped short: %+v", q.Entries[0]))
}
