package queue_test

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// The scenario: root queues /jfs/datasets/big3 for a job, a user
// warms the parent (absorbing root's task) and cancels it. Root's job must
// get its task back, queued, not "big3 cancelled".
func TestAbsorbThenCancelGivesTheChildItsTaskBack(t *testing.T) {
	s, _ := open(t)
	r, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/datasets/big3"}, UID: 0, Token: "tok",
		JobID: 77, Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	child := r.Items[0].TaskID

	parent := submit(t, s, 1000, t0.Add(time.Second), "/jfs/datasets")[0]
	require.Equal(t, queue.OutcomeAbsorbed, parent.Outcome)
	st, _ := taskState(t, s, child)
	require.Equal(t, api.TaskCancelled, st, "absorbed")
	js, err := s.JobStatus(ctx(), 77)
	require.NoError(t, err)
	require.Equal(t, "/jfs/datasets", js.Datasets[0].Dataset, "the job waits for the parent now")

	resp, err := s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/datasets"}}, t0.Add(2*time.Second))
	require.NoError(t, err)
	require.Equal(t, []int64{parent.TaskID}, resp.Cancelled, "nobody wants the whole parent any more")
	require.Len(t, resp.Items, 1)
	it := resp.Items[0]
	require.True(t, it.Cancelled)
	require.Equal(t, 1, it.Withdrawn)
	require.Len(t, it.Restored, 1)
	require.Equal(t, "/jfs/datasets/big3", it.Restored[0].Dataset)
	require.Equal(t, child, it.Restored[0].TaskID, "the child's own task is revived")

	st, _ = taskState(t, s, child)
	require.Equal(t, api.TaskQueued, st)
	js, err = s.JobStatus(ctx(), 77)
	require.NoError(t, err)
	require.Len(t, js.Datasets, 1)
	require.Equal(t, "/jfs/datasets/big3", js.Datasets[0].Dataset, "the job's link is restored")
	require.Equal(t, api.TaskQueued, js.Datasets[0].State)
	require.False(t, js.Ready)

	// The user cannot cancel root's restored task.
	_, err = s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/datasets/big3"}}, t0.Add(3*time.Second))
	require.ErrorIs(t, err, queue.ErrNotOwner)
	require.ErrorContains(t, err, "uid 1000 has no request for it")
	require.ErrorContains(t, err, "wanted by uid 0")

	// The job ends: nobody wants the child any more.
	require.NoError(t, s.JobEnd(ctx(), 77, queue.JobEndParams{Now: t0.Add(4 * time.Second)}))
	st, _ = taskState(t, s, child)
	require.Equal(t, api.TaskCancelled, st)
}

// Two users want the same dataset: the first one's cancel withdraws only
// that user's request and the task goes on for the other.
func TestCancelWithdrawsOnlyTheCallersRequest(t *testing.T) {
	s, path := open(t)
	a := submit(t, s, 1000, t0, "/jfs/ds")[0]
	b := submit(t, s, 2000, t0, "/jfs/ds")[0]
	require.Equal(t, a.TaskID, b.TaskID)
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.Equal(t, a.TaskID, task.ID)

	_, err = s.Withdraw(ctx(), 3000, api.CancelRequest{TaskIDs: []int64{a.TaskID}}, t0)
	require.ErrorIs(t, err, queue.ErrNotOwner, "a user with no request for it")
	require.ErrorContains(t, err, "uid 1000,2000")

	resp, err := s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/ds"}}, t0.Add(time.Second))
	require.NoError(t, err)
	require.Empty(t, resp.Cancelled)
	require.Equal(t, api.CancelItem{TaskID: a.TaskID, Dataset: "/jfs/ds", Withdrawn: 1, StillWanted: 1}, resp.Items[0])
	require.NoError(t, s.Heartbeat(ctx(), task.ID, "w", t0.Add(2*time.Second), time.Minute), "still warming for uid 2000")

	ids, err := s.Cancel(ctx(), 2000, api.CancelRequest{TaskIDs: []int64{a.TaskID}}, t0.Add(3*time.Second))
	require.NoError(t, err)
	require.Equal(t, []int64{a.TaskID}, ids, "the last request withdrawn: cancelled")
	require.ErrorIs(t, s.Heartbeat(ctx(), task.ID, "w", t0.Add(4*time.Second), time.Minute), queue.ErrLeaseLost)
	st, reason := taskState(t, s, a.TaskID)
	require.Equal(t, api.TaskCancelled, st)
	require.Equal(t, "cancelled by uid 2000", reason)
	var n int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT count(*) FROM claims WHERE task_id = ?`, a.TaskID).Scan(&n))
	require.Zero(t, n)
}

// A request covered by someone else's parent task is withdrawn by its path
// without touching the parent; root's cancel withdraws everyone's.
func TestCancelCoveredRequestAndRoot(t *testing.T) {
	s, _ := open(t)
	parent := submit(t, s, 0, t0, "/jfs/ds")[0]
	covered := submit(t, s, 1000, t0, "/jfs/ds/a")[0]
	require.Equal(t, queue.OutcomeCovered, covered.Outcome)

	resp, err := s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/ds/a"}}, t0)
	require.NoError(t, err)
	require.Equal(t, api.CancelItem{TaskID: parent.TaskID, Dataset: "/jfs/ds", Withdrawn: 1, StillWanted: 1}, resp.Items[0])
	st, _ := taskState(t, s, parent.TaskID)
	require.Equal(t, api.TaskQueued, st)

	_, err = s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/ds"}}, t0)
	require.ErrorIs(t, err, queue.ErrNotOwner, "the parent itself is root's")
	_, err = s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/ds/a"}}, t0)
	require.ErrorIs(t, err, queue.ErrNotFound, "withdrawn already")

	submit(t, s, 1000, t0, "/jfs/ds")
	submit(t, s, 2000, t0, "/jfs/ds/b")
	ids, err := s.Cancel(ctx(), 0, api.CancelRequest{Paths: []string{"/jfs/ds"}}, t0)
	require.NoError(t, err)
	require.Equal(t, []int64{parent.TaskID}, ids, "root withdraws every request")
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	require.Empty(t, es, "nothing restored after root's cancel")
}

// A user's job keeps a task another user asked for; when the job ends and
// the request is withdrawn, the task is cancelled.
func TestJobClaimKeepsTask(t *testing.T) {
	s, _ := open(t)
	m := submit(t, s, 1000, t0, "/jfs/x")[0]
	submitForJob(t, s, 2000, 5, "/jfs/x")

	resp, err := s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/x"}}, t0)
	require.NoError(t, err)
	require.False(t, resp.Items[0].Cancelled)
	require.Equal(t, 1, resp.Items[0].StillWanted, "job 5 still wants it")

	require.NoError(t, s.JobEnd(ctx(), 5, queue.JobEndParams{Now: t0.Add(time.Second)}))
	st, reason := taskState(t, s, m.TaskID)
	require.Equal(t, api.TaskCancelled, st)
	require.Contains(t, reason, "no job needs it any more")
}

// Ending a job that absorbed a person's queued request hands that request
// its own task back instead of cancelling it with the parent.
func TestJobEndRestoresAbsorbedRequest(t *testing.T) {
	s, _ := open(t)
	child := submit(t, s, 1000, t0, "/jfs/ds/a")[0]
	submitForJob(t, s, 2000, 6, "/jfs/ds")
	st, _ := taskState(t, s, child.TaskID)
	require.Equal(t, api.TaskCancelled, st)

	require.NoError(t, s.JobEnd(ctx(), 6, queue.JobEndParams{Now: t0.Add(time.Second)}))
	st, _ = taskState(t, s, child.TaskID)
	require.Equal(t, api.TaskQueued, st, "uid 1000's request lives on")
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "/jfs/ds/a", es[0].Dataset)
}

// A store from before claims (schema 4) keeps who wants its live tasks:
// the first requester of a manual task, and the live jobs of a job's task.
func TestClaimsMigrationKeepsLiveRequests(t *testing.T) {
	s, path := open(t)
	m := submit(t, s, 1000, t0, "/jfs/m")[0]
	submitForJob(t, s, 2000, 5, "/jfs/j")
	require.NoError(t, s.Close())
	db := rawDB(t, path)
	_, err := db.Exec(`DROP TABLE claims; DELETE FROM schema_migrations WHERE version = 5; ` + dropAfter5)
	require.NoError(t, err)

	s2, err := queue.Open(path, zerolog.Nop())
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.Withdraw(ctx(), 2000, api.CancelRequest{Paths: []string{"/jfs/m"}}, t0)
	require.ErrorIs(t, err, queue.ErrNotOwner, "uid 2000 never asked for /jfs/m")
	resp, err := s2.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/m"}}, t0)
	require.NoError(t, err)
	require.Equal(t, []int64{m.TaskID}, resp.Cancelled)
	resp, err = s2.Withdraw(ctx(), 2000, api.CancelRequest{Paths: []string{"/jfs/j"}}, t0)
	require.NoError(t, err, "job 5 of uid 2000 wants /jfs/j")
	require.Len(t, resp.Cancelled, 1)
}

// A user reviving a finished task must not erase the claim of a job that
// still waits for it: after job 5's data was warmed and evicted, uid 1000
// asks for it again and withdraws that request; job 5 still wants it, so
// the task goes on.
func TestReviveKeepsTheClaimsOfLiveJobs(t *testing.T) {
	s, _ := open(t)
	submitForJob(t, s, 2000, 5, "/jfs/x")
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskWarm}, t0))
	require.NoError(t, s.MarkEvicted(ctx(), task.ID, "make room", t0.Add(time.Second)))

	m := submit(t, s, 1000, t0.Add(2*time.Second), "/jfs/x")[0]
	require.Equal(t, task.ID, m.TaskID, "the same task, revived")
	resp, err := s.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/x"}}, t0.Add(3*time.Second))
	require.NoError(t, err)
	require.False(t, resp.Items[0].Cancelled, "job 5 still wants it")
	st, _ := taskState(t, s, task.ID)
	require.Equal(t, api.TaskQueued, st)
}
