package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// warmAll warms every runnable task at now, verified fully cached.
func warmAll(t *testing.T, s *queue.Store, now time.Time) {
	t.Helper()
	for {
		task, err := s.Dequeue(ctx(), "w", now, time.Minute)
		require.NoError(t, err)
		if task == nil {
			return
		}
		require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskWarm,
			Check: &queue.Check{Files: 1, Bytes: 100, CachedBytes: 100, Ratio: 1}}, now))
	}
}

// New data under a warm dataset is not warm: a warm parent covers nothing,
// the path gets a task of its own (queued, so its first --check decides).
// A queued or warming parent still covers (its warm-up reads the path).
func TestWarmParentDoesNotCover(t *testing.T) {
	s, _ := open(t)
	parent := submit(t, s, 0, t0, "/jfs")[0]
	warmAll(t, s, t0)
	it := submit(t, s, 1000, t0.Add(time.Hour), "/jfs/datasets/new")[0]
	require.Equal(t, queue.OutcomeNew, it.Outcome)
	require.Equal(t, "/jfs/datasets/new", it.Dataset)
	require.Equal(t, api.TaskQueued, it.State)
	require.NotEqual(t, parent.TaskID, it.TaskID)

	// A parent still queued covers.
	requireCovers(t, "/jfs", 1000, "/jfs/datasets/new")
}

// Requeue revives a warm task in place for the jobs that need it: the job
// waits again, its link, the task's owner and source are kept.
func TestRequeueRevivesWarmTaskKeepingLinks(t *testing.T) {
	s, _ := open(t)
	_, err := s.JobStart(ctx(), 7, queue.JobStartParams{Paths: []string{"/jfs/a"}, Node: "n1", UID: 1000, Now: t0})
	require.NoError(t, err)
	warmAll(t, s, t0)
	st, err := s.JobStatus(ctx(), 7)
	require.NoError(t, err)
	require.True(t, st.Warm)
	require.Equal(t, t0, *st.Datasets[0].CheckedAt)

	id, err := s.Requeue(ctx(), "/jfs/a", "blocks gone", t0.Add(time.Minute))
	require.NoError(t, err)
	st, err = s.JobStatus(ctx(), 7)
	require.NoError(t, err)
	require.False(t, st.Ready)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State)
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, id, es[0].TaskID)
	require.Equal(t, uint32(1000), es[0].Owner)
	require.Equal(t, api.SourceProlog, es[0].Source)
	require.Equal(t, 1, es[0].JobsWaiting)
	require.Equal(t, "blocks gone", es[0].Reason)

	// Queued again twice is one task, left alone.
	id2, err := s.Requeue(ctx(), "/jfs/a", "again", t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, id, id2)
	task, err := s.Dequeue(ctx(), "w", t0.Add(2*time.Minute), time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, task.Attempts, "a fresh attempt budget")
}

// A job's path covered by a parent's task is judged by its own check: the
// status says when that path itself was checked, and a Requeue of the path
// gives it its own task and moves the live job's link there.
func TestRequeueCoveredPathGetsItsOwnTask(t *testing.T) {
	s, _ := open(t)
	parent := submit(t, s, 0, t0, "/jfs/a")[0]
	_, err := s.JobStart(ctx(), 8, queue.JobStartParams{Paths: []string{"/jfs/a/sub"}, Node: "n1", UID: 1000, Now: t0})
	require.NoError(t, err)
	warmAll(t, s, t0)
	st, err := s.JobStatus(ctx(), 8)
	require.NoError(t, err)
	d := st.Datasets[0]
	require.Equal(t, "/jfs/a", d.Dataset)
	require.Equal(t, api.TaskWarm, d.State)
	require.Nil(t, d.CheckedAt, "the path itself was never checked")
	require.Zero(t, d.CachedRatio, "the parent's 100% says nothing of the path")

	require.NoError(t, s.RecordCheck(ctx(), "/jfs/a/sub", queue.Check{Bytes: 50, CachedBytes: 10, Ratio: 0.2}, t0.Add(time.Second)))
	lc, err := s.LastChecks(ctx(), []string{"/jfs/a/sub", "/jfs/a", "/jfs/none"})
	require.NoError(t, err)
	require.Len(t, lc, 2)
	require.Equal(t, 0.2, lc["/jfs/a/sub"].Ratio)
	require.Equal(t, api.TaskState(""), lc["/jfs/a/sub"].State)
	require.Equal(t, api.TaskWarm, lc["/jfs/a"].State)
	st, err = s.JobStatus(ctx(), 8)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Second), *st.Datasets[0].CheckedAt)
	require.Equal(t, int64(10), st.Datasets[0].CachedBytes)

	id, err := s.Requeue(ctx(), "/jfs/a/sub", "short", t0.Add(time.Minute))
	require.NoError(t, err)
	require.NotEqual(t, parent.TaskID, id)
	st, err = s.JobStatus(ctx(), 8)
	require.NoError(t, err)
	require.Equal(t, "/jfs/a/sub", st.Datasets[0].Dataset)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State)
	state, _ := taskState(t, s, parent.TaskID)
	require.Equal(t, api.TaskWarm, state, "the parent stays warm")
}

// A job that starts needing data evicted since it was submitted does not
// start cold with "evicted": the task is queued again for it.
func TestJobStartRequeuesEvictedData(t *testing.T) {
	s, _ := open(t)
	_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a"}, UID: 1000, Token: "tok", Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	warmAll(t, s, t0)
	es, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	require.NoError(t, s.MarkEvicted(ctx(), es[0].TaskID, "room for others", t0.Add(time.Minute)))

	st, err := s.JobStart(ctx(), 9, queue.JobStartParams{Token: "tok", Paths: []string{"/jfs/a"}, Node: "n1", UID: 1000, Now: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.False(t, st.Ready)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State)
	state, reason := taskState(t, s, es[0].TaskID)
	require.Equal(t, api.TaskQueued, state)
	require.Contains(t, reason, "evicted, and a job that needs it started")
}

// A task queued again after a re-verification lives for who wants it now:
// a person's request fulfilled when the task ended warm is not revived with
// it, so the task is cancelled when the only job that needed it ends; a
// request made since (joining the warm task) keeps it, and only its owner's
// cancel ends it.
func TestRequeuedTaskIsNotKeptByFulfilledRequests(t *testing.T) {
	s, _ := open(t)
	it := submit(t, s, 1000, t0, "/jfs/a")[0]
	warmAll(t, s, t0)
	day := t0.Add(24 * time.Hour)
	_, err := s.JobStart(ctx(), 7, queue.JobStartParams{Paths: []string{"/jfs/a"}, Node: "n1", UID: 2000, Now: day})
	require.NoError(t, err)
	_, err = s.Requeue(ctx(), "/jfs/a", "blocks gone", day)
	require.NoError(t, err)
	require.NoError(t, s.JobEnd(ctx(), 7, queue.JobEndParams{Now: day.Add(time.Minute)}))
	st, reason := taskState(t, s, it.TaskID)
	require.Equal(t, api.TaskCancelled, st, "uid 1000's request of a day ago was fulfilled: %s", reason)

	s2, _ := open(t)
	it = submit(t, s2, 1000, t0, "/jfs/a")[0]
	warmAll(t, s2, t0)
	_, err = s2.JobStart(ctx(), 7, queue.JobStartParams{Paths: []string{"/jfs/a"}, Node: "n1", UID: 2000, Now: day})
	require.NoError(t, err)
	submit(t, s2, 3000, day, "/jfs/a") // joins the warm task; its answer's re-check queues it again
	_, err = s2.Requeue(ctx(), "/jfs/a", "blocks gone", day)
	require.NoError(t, err)
	require.NoError(t, s2.JobEnd(ctx(), 7, queue.JobEndParams{Now: day.Add(time.Minute)}))
	st, _ = taskState(t, s2, it.TaskID)
	require.Equal(t, api.TaskQueued, st, "uid 3000 still wants it")
	_, err = s2.Withdraw(ctx(), 1000, api.CancelRequest{Paths: []string{"/jfs/a"}}, day.Add(2*time.Minute))
	require.ErrorIs(t, err, queue.ErrNotOwner, "uid 1000 has no request left")
	r, err := s2.Withdraw(ctx(), 3000, api.CancelRequest{Paths: []string{"/jfs/a"}}, day.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, []int64{it.TaskID}, r.Cancelled)
}

// A covered path found short gets a task of its own that belongs to the
// user whose job needs it, not to the owner of the parent that covered it
// (root's warm-up of /jfs/a must not become root's task for a user's path).
func TestRequeuedCoveredPathBelongsToTheJobsUser(t *testing.T) {
	s, _ := open(t)
	submit(t, s, 0, t0, "/jfs/a")
	_, err := s.JobStart(ctx(), 9, queue.JobStartParams{Paths: []string{"/jfs/a/sub"}, Node: "n1", UID: 1000, Now: t0})
	require.NoError(t, err)
	warmAll(t, s, t0)
	id, err := s.Requeue(ctx(), "/jfs/a/sub", "short", t0.Add(time.Minute))
	require.NoError(t, err)
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, id, es[0].TaskID)
	require.Equal(t, uint32(1000), es[0].Owner, "the job's user, not the parent's owner (root)")
	require.Equal(t, api.SourceProlog, es[0].Source, "the job started")
}

// The queue listing carries when each dataset's own check last finished, so
// a listing's stored "warm" shows its age.
func TestQueueListingCarriesTheLastCheck(t *testing.T) {
	s, _ := open(t)
	submit(t, s, 1000, t0, "/jfs/a", "/jfs/b")
	warmAll(t, s, t0.Add(time.Minute))
	submit(t, s, 1000, t0, "/jfs/c")
	es, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	got := map[string]*time.Time{}
	for _, e := range es {
		got[e.Dataset] = e.CheckedAt
	}
	require.Equal(t, t0.Add(time.Minute), *got["/jfs/a"])
	require.Nil(t, got["/jfs/c"], "never checked")
}
