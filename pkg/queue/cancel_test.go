package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestCancelPermissions(t *testing.T) {
	s, _ := open(t)
	mine := submit(t, s, 1000, t0, "/jfs/mine")[0]
	theirs := submit(t, s, 2000, t0, "/jfs/theirs")[0]

	_, err := s.Cancel(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/mine", "/jfs/theirs"}}, t0)
	require.ErrorIs(t, err, queue.ErrNotOwner)
	require.ErrorContains(t, err, "/jfs/theirs")
	st, _ := taskState(t, s, mine.TaskID)
	require.Equal(t, api.TaskQueued, st, "all or nothing")

	_, err = s.Cancel(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/nope"}}, t0)
	require.ErrorIs(t, err, queue.ErrNotFound)
	require.ErrorContains(t, err, "/jfs/nope")
	_, err = s.Cancel(ctx(), 1000, api.CancelRequest{TaskIDs: []int64{12345}}, t0)
	require.ErrorIs(t, err, queue.ErrNotFound)
	require.ErrorContains(t, err, "12345")

	ids, err := s.Cancel(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/mine"}, TaskIDs: []int64{mine.TaskID}}, t0)
	require.NoError(t, err)
	require.Equal(t, []int64{mine.TaskID}, ids)
	st, reason := taskState(t, s, mine.TaskID)
	require.Equal(t, api.TaskCancelled, st)
	require.Equal(t, "cancelled by uid 1000", reason)

	ids, err = s.Cancel(ctx(), 0, api.CancelRequest{TaskIDs: []int64{theirs.TaskID}}, t0)
	require.NoError(t, err, "root may cancel anything")
	require.Equal(t, []int64{theirs.TaskID}, ids)

	ids, err = s.Cancel(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/mine"}}, t0)
	require.NoError(t, err)
	require.Empty(t, ids, "already cancelled: nothing to do")
}

func TestCancelWarmingTaskRevokesLease(t *testing.T) {
	s, path := open(t)
	it := submit(t, s, 1000, t0, "/jfs/big")[0]
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	ids, err := s.Cancel(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/big"}}, t0.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, []int64{it.TaskID}, ids)
	require.ErrorIs(t, s.Heartbeat(ctx(), task.ID, "w", t0.Add(2*time.Second), time.Minute), queue.ErrLeaseLost)
	require.ErrorIs(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskWarm}, t0.Add(3*time.Second)), queue.ErrLeaseLost)
	none, err := s.Dequeue(ctx(), "w2", t0.Add(time.Hour), time.Minute)
	require.NoError(t, err)
	require.Nil(t, none, "a cancelled task is not reclaimed")
	var outcome string
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT outcome FROM attempts WHERE task_id = ?`, task.ID).Scan(&outcome))
	require.Equal(t, "cancelled", outcome)
}
