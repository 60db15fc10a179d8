package queue_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// t0 is the test clock's origin.
var t0 = time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)

// open opens a store on a fresh file in t.TempDir and closes it at cleanup.
func open(t testing.TB) (*queue.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warmupd.db")
	return queuetest.OpenFile(t, path), path
}

// rawDB opens the store's file directly, for checks below the API.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_foreign_keys=on")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// submit submits paths as manual requests of uid at now and returns the items.
func submit(t testing.TB, s *queue.Store, uid uint32, now time.Time, paths ...string) []api.SubmitItem {
	t.Helper()
	r, err := s.Submit(context.Background(), queue.SubmitParams{Paths: paths, UID: uid, GID: uid, Source: api.SourceManual, Now: now})
	require.NoError(t, err)
	require.Len(t, r.Items, len(paths))
	return r.Items
}

// submitForJob submits paths as `swarmup submit` does inside Slurm job job
// of uid, at t0.
func submitForJob(t testing.TB, s *queue.Store, uid uint32, job uint64, paths ...string) {
	t.Helper()
	_, err := s.Submit(context.Background(), queue.SubmitParams{Paths: paths, UID: uid, Token: "t", JobID: job, Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
}

// requireCovers submits parent as root, then child as uid, on a fresh
// store: the child's request joins the parent's queued task, covered.
func requireCovers(t testing.TB, parent string, uid uint32, child string) {
	t.Helper()
	s, _ := open(t)
	p := submit(t, s, 0, t0, parent)[0]
	c := submit(t, s, uid, t0, child)[0]
	require.Equal(t, queue.OutcomeCovered, c.Outcome)
	require.Equal(t, p.TaskID, c.TaskID)
}

// taskState reads a task's state and reason through the queue listing.
func taskState(t testing.TB, s *queue.Store, id int64) (api.TaskState, string) {
	t.Helper()
	e := queuetest.Entry(t, s, id)
	return e.State, e.Reason
}

func ctx() context.Context { return context.Background() }

// column returns the first column of every row q returns, as text.
func column(t testing.TB, db *sql.DB, q string) []string {
	t.Helper()
	out, err := queuetest.Column(db, q)
	require.NoError(t, err)
	return out
}
