package queue_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestPlanDatasetsCountsJobs(t *testing.T) {
	s, _ := open(t)
	_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a"}, UID: 1, Token: "pending", Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	_, err = s.JobStart(ctx(), 5, queue.JobStartParams{Paths: []string{"/jfs/a"}, UID: 1, Now: t0.Add(time.Minute)})
	require.NoError(t, err)
	_, err = s.JobStart(ctx(), 6, queue.JobStartParams{Paths: []string{"/jfs/b"}, UID: 1, Now: t0.Add(time.Minute)})
	require.NoError(t, err)
	b, err := s.Dequeue(ctx(), "w", t0.Add(2*time.Minute), time.Minute) // a (older)
	require.NoError(t, err)
	require.Equal(t, "/jfs/a", b.Path)
	require.NoError(t, s.Finish(ctx(), b.ID, "w", queue.Outcome{State: api.TaskWarm, Check: &queue.Check{Bytes: 100, CachedBytes: 100, Ratio: 1}}, t0.Add(3*time.Minute)))

	ds, err := s.PlanDatasets(ctx(), t0.Add(3*time.Minute))
	require.NoError(t, err)
	require.Len(t, ds, 2)
	a, bb := ds[0], ds[1]
	require.Equal(t, "/jfs/a", a.Path)
	require.Equal(t, api.TaskWarm, a.State)
	require.Equal(t, 1, a.RunningJobs, "job 5 runs on warm data")
	require.Equal(t, 0, a.PrologWaiting)
	require.Len(t, a.PendingStarts, 1, "the token job is still pending")
	require.InDelta(t, 1.0, a.History, 0.01)
	require.Equal(t, t0.Add(time.Minute), a.LastUsed)
	require.Equal(t, int64(100), a.CachedBytes)
	require.Negative(t, a.HitRate)

	require.Equal(t, "/jfs/b", bb.Path)
	require.Equal(t, api.TaskQueued, bb.State)
	require.Equal(t, 1, bb.PrologWaiting, "job 6 started while its data is still queued")
	require.Equal(t, 0, bb.RunningJobs)
	require.Equal(t, t0.Add(time.Minute), bb.QueuedSince)
}

// What a plan wrote is what the next plan reads back (the planner writes
// only what moved, planner.Decision.Changes): priorities, wait reasons and
// cleared reasons, in one statement; a retry's reason stays, and ids that
// are no task are ignored.
func TestApplyPlanIsReadBackByTheNextPlan(t *testing.T) {
	s, _ := open(t)
	items := submit(t, s, 1, t0, "/jfs/a", "/jfs/b", "/jfs/c")
	a, b, c := items[0].TaskID, items[1].TaskID, items[2].TaskID
	require.NoError(t, s.ApplyPlan(ctx(), map[int64]float64{a: 10.5, b: 20}, map[int64]string{a: "waiting for cache space", c: "waiting for its size", 999: "no such task"}, t0))
	stored := func() map[int64][2]any {
		ds, err := s.PlanDatasets(ctx(), t0)
		require.NoError(t, err)
		out := map[int64][2]any{}
		for _, d := range ds {
			out[d.ID] = [2]any{d.StoredPriority, d.StoredReason}
		}
		return out
	}
	require.Equal(t, map[int64][2]any{a: {10.5, "waiting for cache space"}, b: {20.0, ""}, c: {0.0, "waiting for its size"}}, stored())

	// b is leased: a wait reason is only for queued tasks (a plan read
	// before b started may still name it).
	task, err := s.DequeueOnly(ctx(), "w", t0, time.Minute, []int64{b})
	require.NoError(t, err)
	require.Equal(t, b, task.ID)
	require.NoError(t, s.ApplyPlan(ctx(), map[int64]float64{b: 25}, map[int64]string{b: "waiting for a free warm-up worker"}, t0))
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	for _, e := range es {
		if e.TaskID == b {
			require.Equal(t, api.TaskWarming, e.State)
			require.Empty(t, e.Reason, "a warming task gets no wait reason")
		}
	}
	// b comes back to retry: the planner's reasons do not overwrite the
	// retry's, its priority still moves; a's reason clears.
	require.NoError(t, s.Finish(ctx(), b, "w", queue.Outcome{State: api.TaskQueued, Err: "EIO", RetryAt: t0, Reason: "retry 2 of 3"}, t0))
	require.NoError(t, s.ApplyPlan(ctx(), map[int64]float64{a: 11, b: 30}, map[int64]string{b: "waiting for a free warm-up worker"}, t0))
	want := map[int64][2]any{a: {11.0, ""}, b: {30.0, "retry 2 of 3"}, c: {0.0, "waiting for its size"}}
	require.Equal(t, want, stored())
	require.NoError(t, s.ApplyPlan(ctx(), nil, nil, t0))
	require.Equal(t, want, stored(), "an empty round writes nothing")
}

// A round larger than one of ApplyPlan's transactions is written whole.
func TestApplyPlanWritesEveryChunk(t *testing.T) {
	s, _ := open(t)
	paths := make([]string, 2500)
	for i := range paths {
		paths[i] = fmt.Sprintf("/jfs/p%04d", i)
	}
	require.NoError(t, s.SeedDatasets(ctx(), paths, api.TaskQueued, t0))
	ds, err := s.PlanDatasets(ctx(), t0)
	require.NoError(t, err)
	require.Len(t, ds, len(paths))
	prio, waits := map[int64]float64{}, map[int64]string{}
	for _, d := range ds {
		prio[d.ID] = float64(d.ID) + 0.25
		waits[d.ID] = fmt.Sprint("reason ", d.ID)
	}
	require.NoError(t, s.ApplyPlan(ctx(), prio, waits, t0))
	ds, err = s.PlanDatasets(ctx(), t0)
	require.NoError(t, err)
	for _, d := range ds {
		require.Equal(t, float64(d.ID)+0.25, d.StoredPriority)
		require.Equal(t, fmt.Sprint("reason ", d.ID), d.StoredReason)
	}
}

func TestApplyPlanAndDequeueOnly(t *testing.T) {
	s, _ := open(t)
	items := submit(t, s, 1, t0, "/jfs/a", "/jfs/b", "/jfs/c")
	a, b, c := items[0].TaskID, items[1].TaskID, items[2].TaskID
	require.NoError(t, s.ApplyPlan(ctx(), map[int64]float64{a: 1, b: 3, c: 2}, map[int64]string{a: "waiting for cache space"}, t0))
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	require.Equal(t, []int64{b, c, a}, []int64{es[0].TaskID, es[1].TaskID, es[2].TaskID})
	require.Equal(t, "waiting for cache space", es[2].Reason)
	require.Empty(t, es[0].Reason)

	// Only the planner's choice starts, highest priority first.
	task, err := s.DequeueOnly(ctx(), "w", t0, time.Minute, []int64{a, c})
	require.NoError(t, err)
	require.Equal(t, c, task.ID)
	none, err := s.DequeueOnly(ctx(), "w", t0, time.Minute, nil)
	require.NoError(t, err)
	require.Nil(t, none, "an empty plan starts nothing")

	// An expired lease is taken up whatever the plan says.
	again, err := s.DequeueOnly(ctx(), "w2", t0.Add(time.Hour), time.Minute, []int64{})
	require.NoError(t, err)
	require.NotNil(t, again)
	require.Equal(t, c, again.ID)
	require.Equal(t, "w2", again.LeaseOwner)
}

func TestMarkEvictedAndCheckCandidates(t *testing.T) {
	s, _ := open(t)
	items := submit(t, s, 1, t0, "/jfs/a", "/jfs/b")
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskWarm, Check: &queue.Check{Bytes: 10, CachedBytes: 10, Ratio: 1}}, t0.Add(time.Minute)))
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/untracked", queue.Check{Bytes: 5}, t0))

	cands, err := s.CheckCandidates(ctx(), 10)
	require.NoError(t, err)
	require.Len(t, cands, 2, "the queued task is not a candidate")
	require.Equal(t, "/jfs/untracked", cands[0].Path, "least recently checked first")
	require.Equal(t, int64(0), cands[0].TaskID)
	require.Equal(t, "/jfs/a", cands[1].Path)
	require.Equal(t, task.ID, cands[1].TaskID)
	require.Equal(t, api.TaskWarm, cands[1].State)
	require.Equal(t, t0.Add(time.Minute), cands[1].CheckedAt)

	require.ErrorContains(t, s.MarkEvicted(ctx(), items[1].TaskID, "x", t0), "queued again")
	require.ErrorIs(t, s.MarkEvicted(ctx(), 999, "x", t0), queue.ErrNotFound)
	require.NoError(t, s.MarkEvicted(ctx(), task.ID, "coldest dataset", t0.Add(2*time.Minute)))
	cands, err = s.CheckCandidates(ctx(), 10)
	require.NoError(t, err)
	require.Len(t, cands, 1, "an evicted dataset is no candidate")
	require.Equal(t, "/jfs/untracked", cands[0].Path)
	st, reason := taskState(t, s, task.ID)
	require.Equal(t, api.TaskEvicted, st)
	require.Equal(t, "coldest dataset", reason)
	ds, err := s.Datasets(ctx())
	require.NoError(t, err)
	require.Equal(t, int64(0), ds[0].CachedBytes)
	require.Equal(t, int64(10), ds[0].Bytes)

	// Asking for it again revives it.
	it := submit(t, s, 1, t0, "/jfs/a")[0]
	require.Equal(t, queue.OutcomeNew, it.Outcome)
	require.Equal(t, task.ID, it.TaskID)
	cands, err = s.CheckCandidates(ctx(), 10)
	require.NoError(t, err)
	require.Len(t, cands, 1, "nor one queued again")
	task, err = s.Dequeue(ctx(), "w", t0.Add(3*time.Minute), time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskPartial, Check: &queue.Check{Bytes: 10, CachedBytes: 5, Ratio: 0.5}}, t0.Add(4*time.Minute)))
	cands, err = s.CheckCandidates(ctx(), 10)
	require.NoError(t, err)
	require.Len(t, cands, 2, "a partial one is a candidate again")
	require.Equal(t, api.TaskPartial, cands[1].State)
}

// TestMigrationFromVersion1 opens a database written by a build that knew
// only 0001 and checks that 0002 is applied and backfilled.
func TestMigrationFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	init, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	db, err := sql.Open("sqlite3", "file:"+path)
	require.NoError(t, err)
	for _, q := range []string{
		string(init),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init', 0)`,
		`INSERT INTO datasets (path, created_at) VALUES ('/jfs/old', 42)`,
		`INSERT INTO tasks (dataset_id, state, source, owner_uid, created_at, updated_at) VALUES (1, 'queued', 'manual', 7, 42, 42)`,
	} {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
	require.NoError(t, db.Close())

	s, err := queue.Open(path, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	defer s.Close()
	ds, err := s.PlanDatasets(ctx(), t0)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, time.Unix(0, 42).UTC(), ds[0].QueuedSince)
	var v int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v))
	require.Equal(t, queue.SchemaVersion(), v)
	require.GreaterOrEqual(t, queue.SchemaVersion(), 2)
}
