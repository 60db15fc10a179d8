package queue_test

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// array is a 3-shard array of task in job 100.
func array(task int64) queue.ShardArray {
	a := queue.ShardArray{Run: "task1-a1-1", TaskID: task, JobID: "100", Spool: "/spool/task1-a1-1", Files: 30, Bytes: 300}
	for i := range 3 {
		a.Shards = append(a.Shards, queue.ArrayShard{Index: i, Bytes: 100, State: api.ShardPending, JobID: "100", Attempts: 1})
	}
	return a
}

// A job array and its shards' states, reports included, outlive the store
// (a warmupd restart): what a restarted warmupd reads is what was written.
func TestShardArrayOutlivesARestart(t *testing.T) {
	s, path := open(t)
	task := submit(t, s, 0, t0, "/jfs/big")[0].TaskID
	a := array(task)
	a.JobID = "" // recorded before sbatch runs
	require.NoError(t, s.AddShardArray(ctx(), a, t0))
	require.NoError(t, s.UpdateShards(ctx(), a.Run, []queue.ArrayShard{{Index: 1, State: api.ShardRunning, JobID: "100", Attempts: 1, Node: "c2"}}, t0))
	require.NoError(t, s.ReportShard(ctx(), api.ShardReport{TaskID: task, Run: a.Run, Index: 0, Node: "c1", JobID: "100", OK: true}, t0))
	require.NoError(t, s.Close())

	s2, err := queue.Open(path, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	defer s2.Close()
	got, err := s2.ShardArrayOf(ctx(), task)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Equal(t, "100", got.JobID, "the job id sbatch gave")
	require.Equal(t, a.Spool, got.Spool)
	require.Equal(t, 300, int(got.Bytes))
	require.Equal(t, []queue.ArrayShard{
		{Index: 0, Bytes: 100, State: api.ShardDone, JobID: "100", Attempts: 1, Node: "c1"},
		{Index: 1, Bytes: 100, State: api.ShardRunning, JobID: "100", Attempts: 1, Node: "c2"},
		{Index: 2, Bytes: 100, State: api.ShardPending, JobID: "100", Attempts: 1},
	}, got.Shards)
	require.NoError(t, s2.ReportShard(ctx(), api.ShardReport{TaskID: task, Run: a.Run, Index: 2, Node: "c3", JobID: "100", OK: true}, t0),
		"a report after the restart is accepted")
	none, err := s2.ShardArrayOf(ctx(), task+1)
	require.NoError(t, err)
	require.Nil(t, none)
}

// Done is final: neither the scheduler's update nor a failure report
// undoes it; a failure reported by an earlier submission of a shard
// retried since changes nothing; a report for an array not followed (or of
// another task) is refused.
func TestShardReportsKeepDoneAndIgnoreEarlierSubmissions(t *testing.T) {
	s, _ := open(t)
	task := submit(t, s, 0, t0, "/jfs/big")[0].TaskID
	a := array(task)
	require.NoError(t, s.AddShardArray(ctx(), a, t0))
	report := func(i int, job string, ok bool) {
		require.NoError(t, s.ReportShard(ctx(), api.ShardReport{TaskID: task, Run: a.Run, Index: i, Node: "c1", JobID: job, OK: ok, Error: "boom"}, t0))
	}
	report(0, "100", true)
	require.NoError(t, s.UpdateShards(ctx(), a.Run, []queue.ArrayShard{{Index: 0, State: api.ShardFailed, JobID: "100", Attempts: 1}}, t0))
	report(0, "100", false)
	// shard 1 failed and was submitted again as job 101; job 100's late
	// failure report of it changes nothing, job 101's does.
	require.NoError(t, s.UpdateShards(ctx(), a.Run, []queue.ArrayShard{{Index: 1, State: api.ShardPending, JobID: "101", Attempts: 2}}, t0))
	report(1, "100", false)
	got, err := s.Shards(ctx(), a.Run)
	require.NoError(t, err)
	require.Equal(t, api.ShardDone, got[0].State)
	require.Equal(t, api.ShardPending, got[1].State)
	report(1, "101", false)
	got, err = s.Shards(ctx(), a.Run)
	require.NoError(t, err)
	require.Equal(t, api.ShardFailed, got[1].State)
	require.Equal(t, "boom", got[1].Error)

	err = s.ReportShard(ctx(), api.ShardReport{TaskID: task + 1, Run: a.Run, Index: 0, OK: true}, t0)
	require.ErrorIs(t, err, queue.ErrNoShardArray, "another task's run")
	require.NoError(t, s.EndShardArray(ctx(), a.Run))
	err = s.ReportShard(ctx(), api.ShardReport{TaskID: task, Run: a.Run, Index: 2, OK: true}, t0)
	require.ErrorIs(t, err, queue.ErrNoShardArray, "an array no longer followed")
	none, err := s.ShardArrayOf(ctx(), task)
	require.NoError(t, err)
	require.Nil(t, none)
}

// Every shard state of pkg/api is one the schema accepts.
func TestEveryShardStateIsStored(t *testing.T) {
	s, _ := open(t)
	task := submit(t, s, 0, t0, "/jfs/big")[0].TaskID
	a := queue.ShardArray{Run: "r", TaskID: task, JobID: "1", Spool: "/spool/r"}
	for i, st := range api.ShardStates {
		a.Shards = append(a.Shards, queue.ArrayShard{Index: i, State: st, JobID: "1", Attempts: 1})
	}
	require.NoError(t, s.AddShardArray(ctx(), a, t0))
	got, err := s.Shards(ctx(), "r")
	require.NoError(t, err)
	require.Len(t, got, len(api.ShardStates))
}

// An array whose task was cancelled while nobody followed it is listed as
// abandoned (warmupd cancels it at start); a queued task's is not.
func TestAbandonedShardArrays(t *testing.T) {
	s, _ := open(t)
	items := submit(t, s, 0, t0, "/jfs/a", "/jfs/b")
	a, b := array(items[0].TaskID), array(items[1].TaskID)
	b.Run = "task2-a1-1"
	require.NoError(t, s.AddShardArray(ctx(), a, t0))
	require.NoError(t, s.AddShardArray(ctx(), b, t0))
	_, err := s.Cancel(ctx(), 0, api.CancelRequest{Paths: []string{"/jfs/b"}}, t0.Add(time.Second))
	require.NoError(t, err)
	got, err := s.AbandonedShardArrays(ctx())
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, b.Run, got[0].Run)
	require.Equal(t, "100", got[0].JobID)
}
