package integration

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// prologCmd is slurm-prolog as slurmd runs it (as root, with only the job's
// environment) for job id in mode (prolog_slurmd or epilog_slurmd).
func prologCmd(t *testing.T, sock, mode string, id, paths string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	testutil.RequireRoot(t, "runs slurm-prolog, which reports job start and end as root (slurmd runs it as root),")
	cmd := exec.Command(testutil.Binary(t, "cmd/slurm-prolog"), append([]string{"--socket", sock, "--poll-interval", "100ms"}, args...)...)
	cmd.Env = []string{
		"SLURM_SCRIPT_CONTEXT=" + mode,
		"SPANK_ACCEL_DATA=" + paths,
		"SPANK_ACCEL_TOKEN=00112233445566778899aabbccddee" + id[len(id)-2:],
		"SLURM_JOB_ID=" + id,
		"SLURM_JOB_UID=0",
		"SLURMD_NODENAME=n1",
		"ACCEL_DATA_CONF=/dev/null",
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

// Three prologs wait on a warm-up when warmupd is killed (kill -9) and comes
// back two seconds later: they reach it again and finish with the data warm,
// instead of all saying "warmupd is down" at the moment of the kill.
func TestPrologsSurviveWarmupdRestart(t *testing.T) {
	v := testutil.NewVolume(t)
	ds := v.WriteFiles(t, "ds", 4, 1<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "0") // the warm-up waits until the restart

	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for _, id := range []string{"101", "102", "103"} {
		cmd, out := prologCmd(t, d.Socket, "prolog_slurmd", id, ds, "--prolog-wait", "2m", "--prolog-stop-early=false")
		require.NoError(t, cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	require.Eventually(t, func() bool {
		st, err := d.Client.JobStatus(context.Background(), 103)
		return err == nil && st.State == api.JobStarted
	}, 20*time.Second, 50*time.Millisecond, "the prologs reached warmupd")
	time.Sleep(300 * time.Millisecond) // they poll
	d.Kill()
	time.Sleep(2 * time.Second)
	i := slices.Index(d.Args, "--workers")
	d.Args[i+1] = "1"
	d.Start()

	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "slurm-prolog exits 0")
		line := outs[i].String()
		require.Contains(t, line, "reason=warm", "prolog %d: %s", i, line)
		require.Contains(t, line, "reached it again after", line)
		require.Regexp(t, `retries=[1-9]`, line)
		require.Contains(t, line, "unreachable=", "the line says why it retried")
	}
}

// startedJob starts warmupd (no workers) on a fresh volume holding one
// small dataset, and runs Slurm job id's prolog for it; it returns the
// daemon and the dataset.
func startedJob(t *testing.T, id string) (*testutil.Daemon, string) {
	t.Helper()
	v := testutil.NewVolume(t)
	ds := v.WriteFiles(t, "ds", 1, 1<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "0")
	cmd, out := prologCmd(t, d.Socket, "prolog_slurmd", id, ds, "--prolog-wait", "200ms")
	require.NoError(t, cmd.Run(), out.String())
	return d, ds
}

// The epilog tries again while warmupd restarts and tells it the job ended.
func TestEpilogReachesRestartedWarmupd(t *testing.T) {
	d, ds := startedJob(t, "201")

	d.Kill()
	cmd, out := prologCmd(t, d.Socket, "epilog_slurmd", "201", ds)
	require.NoError(t, cmd.Start())
	time.Sleep(time.Second)
	d.Start()
	require.NoError(t, cmd.Wait(), "slurm-prolog exits 0")
	require.Contains(t, out.String(), "reason=ended", out.String())
	require.Contains(t, out.String(), "reached it again after")
	st, err := d.Client.JobStatus(context.Background(), 201)
	require.NoError(t, err)
	require.Equal(t, api.JobEnded, st.State)
}

// A hung warmupd (kill -STOP): the epilog gives up after a few seconds, exit 0.
func TestEpilogGivesUpOnHungWarmupd(t *testing.T) {
	d, ds := startedJob(t, "301")

	require.NoError(t, d.Signal(syscall.SIGSTOP))
	t.Cleanup(func() { _ = d.Signal(syscall.SIGCONT) })
	start := time.Now()
	cmd, out := prologCmd(t, d.Socket, "epilog_slurmd", "301", ds)
	require.NoError(t, cmd.Run(), "slurm-prolog exits 0")
	require.Less(t, time.Since(start), 15*time.Second, "a few seconds")
	require.Contains(t, out.String(), "reason=daemon-down", out.String())
	require.Contains(t, out.String(), "warmupd did not answer")
}
