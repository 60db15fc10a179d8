package scheduler

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/shardjob"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/shard"
)

// arrayRig is a rig with job arrays on (Slurm's tools are not called by
// these tests: no shard is left to follow through squeue, and a scancel
// that cannot run is only logged) and a dataset of three 1 MiB files.
func arrayRig(t *testing.T) (r *rig, m *metrics.Metrics, ds string, id int64) {
	t.Helper()
	sj := &shardjob.Config{Partition: "warm", MaxNodes: 3, Spool: t.TempDir(), Sbatch: filepath.Join(t.TempDir(), "sbatch")}
	r = newRig(t, newDriver(0, 3<<20, 1), Config{Slurm: sj})
	m = metrics.New(r.store, r.clk.Now)
	r.s.cfg.Metrics = m
	ds = r.dataset("ds", 1<<20, 1<<20, 1<<20)
	return r, m, ds, r.submit(ds)
}

// submitted records the job array warmupd submitted for task id before it
// stopped: the spool directory (written by shardjob, one file a shard) and
// the store's rows, each shard in state states[i].
func submitted(t *testing.T, r *rig, ds string, id int64, states ...api.ShardState) (queue.ShardArray, []shard.Shard) {
	t.Helper()
	p, err := shard.Make(context.Background(), ds, 1<<20, 1)
	require.NoError(t, err)
	require.Len(t, p.Shards, len(states))
	job := shardjob.Job{TaskID: id, Dataset: ds, Run: "task1-a1-1"}
	dir, err := r.s.cfg.Slurm.Prepare(job, p.Shards)
	require.NoError(t, err)
	a := queue.ShardArray{Run: job.Run, TaskID: id, JobID: "100", Spool: dir, Files: p.Files, Bytes: p.Bytes}
	for i, st := range states {
		a.Shards = append(a.Shards, queue.ArrayShard{Index: i, Bytes: p.Shards[i].Bytes, State: st, JobID: "100", Attempts: 1})
	}
	require.NoError(t, r.store.AddShardArray(context.Background(), a, r.clk.Now()))
	return a, p.Shards
}

// After a restart the task's next worker follows the array warmupd had
// submitted: a report sent while no warmupd followed it is taken, shards
// done stay done, the shard this node was warming is warmed again here, and
// nothing else is warmed or walked; the dataset is verified, the array
// forgotten and its spool directory removed.
func TestRestartFollowsTheArrayItSubmitted(t *testing.T) {
	r, m, ds, id := arrayRig(t)
	a, shards := submitted(t, r, ds, id, api.ShardDone, api.ShardLocal, api.ShardRunning)
	require.NoError(t, r.s.Report(context.Background(), api.ShardReport{TaskID: id, Run: a.Run, Index: 2, Node: "c3", JobID: "100", OK: true}),
		"a report while no worker follows the array is kept")

	r.attempt()
	require.Equal(t, api.TaskWarm, r.entry(id).State)
	require.Equal(t, [][]string{shards[1].Files}, r.drv.lists, "only the shard that was being warmed here is warmed again")
	require.Zero(t, m.Value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkList}), "no walk: the plan is the array's")
	got, err := r.store.ShardArrayOf(context.Background(), id)
	require.NoError(t, err)
	require.Nil(t, got, "forgotten once every shard is done")
	require.NoDirExists(t, a.Spool)
	err = r.s.Report(context.Background(), api.ShardReport{TaskID: id, Run: a.Run, Index: 0, OK: true})
	require.ErrorIs(t, err, ErrUnknownRun)
}

// An array whose shard lists are gone cannot be followed: it is cancelled
// and forgotten, and the warm-up starts anew (one walk).
func TestArrayWithoutItsListsIsWarmedAnew(t *testing.T) {
	r, m, ds, id := arrayRig(t)
	a, _ := submitted(t, r, ds, id, api.ShardDone, api.ShardRunning, api.ShardRunning)
	require.NoError(t, os.Remove(filepath.Join(a.Spool, shardjob.ListFile(1))))
	r.s.cfg.Slurm.MinBytes = 1 << 40 // the new plan warms here
	r.attempt()
	require.Equal(t, api.TaskWarm, r.entry(id).State)
	require.Equal(t, 1.0, m.Value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkList}))
	got, err := r.store.ShardArrayOf(context.Background(), id)
	require.NoError(t, err)
	require.Nil(t, got)
}

// At start warmupd forgets (and scancels) the arrays of warm-ups that
// ended while it was down; a queued task's array is kept for its worker.
func TestArraysOfEndedWarmupsAreForgottenAtStart(t *testing.T) {
	r, _, ds, id := arrayRig(t)
	submitted(t, r, ds, id, api.ShardRunning, api.ShardRunning, api.ShardRunning)
	r.s.cancelAbandoned(context.Background()) // what Run does first
	got, err := r.store.ShardArrayOf(context.Background(), id)
	require.NoError(t, err)
	require.NotNil(t, got, "its task is still queued")

	r.cancel(id)
	r.s.cancelAbandoned(context.Background())
	got, err = r.store.ShardArrayOf(context.Background(), id)
	require.NoError(t, err)
	require.Nil(t, got, "its task was cancelled")
}

// A shutdown of warmupd leaves the array running and recorded for the next
// warmupd; cancelling the task gives it up (scancel) and forgets it.
func TestShutdownLeavesTheArrayCancelGivesItUp(t *testing.T) {
	r, _, ds, id := arrayRig(t)
	submitted(t, r, ds, id, api.ShardDone, api.ShardRunning, api.ShardRunning)
	following := func() bool { return len(r.s.Arrays()) == 1 }

	ctx, shutdown := context.WithCancel(context.Background())
	done := r.goWork(ctx, r.dequeue())
	require.Eventually(t, following, time.Minute, 10*time.Millisecond)
	require.Equal(t, 1, r.s.Arrays()[0].Done, "the shard done before the restart")
	shutdown()
	<-done
	got, err := r.store.ShardArrayOf(context.Background(), id)
	require.NoError(t, err)
	require.NotNil(t, got, "kept for the next warmupd")

	require.NoError(t, r.store.ReleaseLeases(context.Background(), r.s.Owner())) // what Run does at shutdown
	done = r.goWork(context.Background(), r.dequeue())
	require.Eventually(t, following, time.Minute, 10*time.Millisecond)
	r.s.Stop(r.cancel(id))
	<-done
	got, err = r.store.ShardArrayOf(context.Background(), id)
	require.NoError(t, err)
	require.Nil(t, got, "given up with its task")
	require.Empty(t, r.drv.lists, "nothing warmed on this node")
}
