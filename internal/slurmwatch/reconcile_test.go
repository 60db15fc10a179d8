package slurmwatch

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// sampleAndStore reads the real `squeue --json` answer in testdata and opens
// a store on a fresh file (closed when the test ends).
func sampleAndStore(t *testing.T) ([]byte, *queue.Store, string) {
	t.Helper()
	data, err := os.ReadFile("testdata/squeue-22.05.json")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "warmupd.db")
	return data, queuetest.OpenFile(t, path), path
}

// started records a job that reached its prolog at time at, on a real store.
func started(t *testing.T, s *queue.Store, id uint64, path string, at time.Time) {
	t.Helper()
	_, err := s.JobStart(context.Background(), id, queue.JobStartParams{Paths: []string{path}, Node: "n1", UID: 1000, Now: at})
	require.NoError(t, err)
}

func jobState(t *testing.T, s *queue.Store, id uint64) (api.JobState, *api.JobStatus) {
	t.Helper()
	st, err := s.JobStatus(context.Background(), id)
	require.NoError(t, err)
	return st.State, st
}

// Jobs whose epilog never reached warmupd (a crash, a hang) stay "started"
// and pin their data forever. Reconciliation with the real squeue answer in
// testdata ends the ones squeue no longer lists, or lists as finished, after
// the grace period; it leaves the listed live ones and the young ones alone,
// and does nothing when squeue itself failed.
func TestReconcileWithRealSqueueJSON(t *testing.T) {
	data, s, path := sampleAndStore(t)
	ctx := context.Background()

	now := time.Unix(1_800_000_000, 0)
	old := now.Add(-10 * time.Minute)
	started(t, s, 1, "/jfs/one", old)     // squeue lists it CANCELLED
	started(t, s, 2, "/jfs/two", old)     // listed, live
	started(t, s, 3, "/jfs/three", old)   // listed, live
	started(t, s, 99, "/jfs/ghost", old)  // not listed: its epilog never came
	started(t, s, 100, "/jfs/young", now) // not listed, but started after squeue's snapshot minus grace
	_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/pending"}, UID: 1000, JobID: 98, Source: api.SourceSubmit, Now: old})
	require.NoError(t, err) // submitted with a job id, never listed: gone too

	w := &Watcher{Squeue: "/bin/false", Store: s, Log: zerolog.New(zerolog.NewTestWriter(t)), Now: func() time.Time { return now }}
	require.Error(t, w.Poll(ctx), "squeue failed")
	for _, id := range []uint64{1, 98, 99} {
		st, _ := jobState(t, s, id)
		require.NotEqual(t, api.JobEnded, st, "job %d: nothing is reconciled when squeue fails", id)
	}

	withErrors := []byte(`{"errors":[{"error":"slurmctld busy","errno":1}],"jobs":[]}`)
	require.ErrorContains(t, w.Apply(ctx, withErrors, now), "slurmctld busy")
	st, _ := jobState(t, s, 99)
	require.Equal(t, api.JobStarted, st, "an answer with errors may be incomplete: nothing is reconciled")

	require.NoError(t, w.Apply(ctx, data, now))
	for id, want := range map[uint64]api.JobState{1: api.JobEnded, 2: api.JobStarted, 3: api.JobStarted, 98: api.JobEnded, 99: api.JobEnded, 100: api.JobStarted} {
		st, _ := jobState(t, s, id)
		require.Equal(t, want, st, "job %d", id)
	}
	q, err := s.Queue(ctx, true)
	require.NoError(t, err)
	for _, e := range q {
		if e.Dataset == "/jfs/pending" {
			require.Equal(t, api.TaskCancelled, e.State, "the warm-up only the gone job wanted is cancelled")
		}
		if e.Dataset == "/jfs/ghost" {
			require.Zero(t, e.JobsWaiting, "the ghost job no longer holds its data")
		}
	}

	// The reason says why.
	reasons := jobReasons(t, path)
	require.Equal(t, "reconciled: not in squeue", reasons[99])
	require.Equal(t, "reconciled: squeue lists it CANCELLED", reasons[1])

	// Once the young job is past the grace period, it goes too.
	w.Now = func() time.Time { return now.Add(2 * DefaultGrace) }
	require.NoError(t, w.Apply(ctx, data, now.Add(2*DefaultGrace)))
	st, _ = jobState(t, s, 100)
	require.Equal(t, api.JobEnded, st)
}

// jobReasons reads each job's reason straight from the database file.
func jobReasons(t *testing.T, path string) map[uint64]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT job_id, reason FROM jobs WHERE job_id IS NOT NULL`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[uint64]string{}
	for rows.Next() {
		var id uint64
		var r string
		require.NoError(t, rows.Scan(&id, &r))
		out[id] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// A submission whose token no job in squeue carries (sbatch refused the job
// after the plugin had sent its paths) is ended once it is older than
// UnboundGrace, and only while squeue shows other jobs' tokens: without
// them (no job_submit.lua tagging jobs) nothing says the job does not exist.
func TestUnboundTokensEndWhenSqueueListsTokens(t *testing.T) {
	data, s, path := sampleAndStore(t) // jobs 2 and 3 carry tokens
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	for tok, at := range map[string]time.Time{
		"dead0000refused":                  now.Add(-UnboundGrace - time.Minute), // never in squeue
		"beef0000young":                    now.Add(-UnboundGrace + time.Minute), // never in squeue, yet
		"bbb59171a7702f97f022e433198ddbdb": now.Add(-time.Hour),                  // job 2, pending
	} {
		_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/" + tok}, UID: 1000, Token: tok, Source: api.SourceSubmit, Now: at})
		require.NoError(t, err)
	}
	w := &Watcher{Squeue: "/bin/false", Store: s, Log: zerolog.New(zerolog.NewTestWriter(t)), Now: func() time.Time { return now }}

	require.NoError(t, w.Apply(ctx, []byte(`{"jobs":[{"job_id":7,"job_state":"PENDING"}]}`), now))
	require.Equal(t, api.JobSubmitted, tokenState(t, path, "dead0000refused"), "no job shows a token: no evidence")

	require.NoError(t, w.Apply(ctx, data, now))
	require.Equal(t, api.JobEnded, tokenState(t, path, "dead0000refused"))
	require.Equal(t, api.JobSubmitted, tokenState(t, path, "beef0000young"), "younger than UnboundGrace")
	st, _ := jobState(t, s, 2)
	require.Equal(t, api.JobSubmitted, st, "its token is listed: bound to job 2, pending")
	q, err := s.Queue(ctx, true)
	require.NoError(t, err)
	for _, e := range q {
		want := api.TaskQueued
		if e.Dataset == "/jfs/dead0000refused" {
			want = api.TaskCancelled
		}
		require.Equal(t, want, e.State, e.Dataset)
	}

	// The job comes after all (its token was never tagged): its prolog
	// binds the row, which is live again, and its data is queued again.
	st2, err := s.JobStart(ctx, 77, queue.JobStartParams{Token: "dead0000refused", Paths: []string{"/jfs/dead0000refused"}, Node: "n1", UID: 1000, Now: now})
	require.NoError(t, err)
	require.Equal(t, api.JobStarted, st2.State)
	require.False(t, st2.Ready, "its data is not warm: the prolog waits for it")
	require.Len(t, st2.Datasets, 1)
	require.Equal(t, api.TaskQueued, st2.Datasets[0].State)
	require.Empty(t, jobReasons(t, path)[77])
}

// tokenState reads the state of the job submitted with token.
func tokenState(t *testing.T, path, token string) api.JobState {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer db.Close()
	var st string
	require.NoError(t, db.QueryRow(`SELECT state FROM jobs WHERE token = ?`, token).Scan(&st))
	return api.JobState(st)
}
