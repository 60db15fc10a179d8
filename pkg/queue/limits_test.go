package queue_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Root's live job keeps a big task out of MaxRequestBytes; once that job
// ends, the user's request alone is refused with the reason.
func TestRefuseOversizedSparesRootUntilItsJobEnds(t *testing.T) {
	s, _ := open(t)
	it := submit(t, s, 1000, t0, "/jfs/big")[0]
	_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/big"}, UID: 0, Token: "r", JobID: 9, Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/big", queue.Check{Files: 1, Bytes: 5 << 30}, t0))

	refused, err := s.RefuseOversized(ctx(), 1<<30, t0)
	require.NoError(t, err)
	require.Empty(t, refused, "root's job wants it")

	require.NoError(t, s.JobEnd(ctx(), 9, queue.JobEndParams{Now: t0.Add(time.Second)}))
	st, _ := taskState(t, s, it.TaskID)
	require.Equal(t, api.TaskQueued, st, "the user's request still wants it")
	refused, err = s.RefuseOversized(ctx(), 1<<30, t0.Add(2*time.Second))
	require.NoError(t, err)
	require.Equal(t, []queue.Refused{{TaskID: it.TaskID, Path: "/jfs/big", Bytes: 5 << 30}}, refused)
	st, reason := taskState(t, s, it.TaskID)
	require.Equal(t, api.TaskFailed, st)
	require.Contains(t, reason, "larger than MaxRequestBytes=1.0 GiB")
	refused, err = s.RefuseOversized(ctx(), 1<<30, t0.Add(3*time.Second))
	require.NoError(t, err)
	require.Empty(t, refused, "once")
}

// Root's request for a small path below does not exempt a user's whole
// parent: a user who absorbs (or covers) root's queued /jfs/ds/small with
// /jfs/ds is held to MaxRequestBytes for /jfs/ds, and refusing the parent
// gives root's path its own task back.
func TestRefuseOversizedRootClaimBelowDoesNotExemptTheParent(t *testing.T) {
	s, _ := open(t)
	small := submit(t, s, 0, t0, "/jfs/ds/small")[0]
	parent := submit(t, s, 1000, t0, "/jfs/ds")[0]
	require.Equal(t, queue.OutcomeAbsorbed, parent.Outcome)
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/ds", queue.Check{Files: 1, Bytes: 5 << 30}, t0))

	refused, err := s.RefuseOversized(ctx(), 1<<30, t0.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, []queue.Refused{{TaskID: parent.TaskID, Path: "/jfs/ds", Bytes: 5 << 30}}, refused,
		"root asked only for /jfs/ds/small")
	st, _ := taskState(t, s, small.TaskID)
	require.Equal(t, api.TaskQueued, st, "root's path has its task back")
}

// A round with nothing to refuse only reads: it goes through while another
// connection holds the database's write lock (a write transaction would wait
// for it and, after the busy timeout, fail with "database is locked").
func TestRefuseOversizedReadsFirst(t *testing.T) {
	s, path := open(t)
	submit(t, s, 1000, t0, "/jfs/small")
	require.NoError(t, s.RecordCheck(ctx(), "/jfs/small", queue.Check{Files: 1, Bytes: 1 << 20}, t0))

	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=100&_txlock=immediate")
	require.NoError(t, err)
	defer db.Close()
	lock, err := db.Begin()
	require.NoError(t, err)
	defer lock.Rollback()

	refused, err := s.RefuseOversized(ctx(), 1<<30, t0.Add(time.Second))
	require.NoError(t, err, "nothing to refuse: no write transaction")
	require.Empty(t, refused)
}
