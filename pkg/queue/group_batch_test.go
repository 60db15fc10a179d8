package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

var batchNow = time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)

// submitOp is one caller's Submit as the group leader hands it to runGroup; its
// answer lands in *resp.
func submitOp(s *Store, p SubmitParams, resp **api.SubmitResponse) *groupOp {
	if p.Now.IsZero() {
		p.Now = batchNow
	}
	return &groupOp{ctx: context.Background(), fn: func(ctx context.Context, tx *wtx) error {
		var err error
		*resp, err = s.submitTx(ctx, tx, p, nil)
		return err
	}}
}

// requestRows counts the rows of table (requests, claims, jobs, job_tasks).
func requestRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	require.NoError(t, s.r.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
	return n
}

// TestGroupAnswersEachCallerOnItsOwn runs one group of submissions that
// depend on each other (a new path, the same path again, a path below it,
// another path, the same token twice) and checks each caller's own answer,
// as if each had run alone in that order.
func TestGroupAnswersEachCallerOnItsOwn(t *testing.T) {
	s := openTemp(t)
	r := make([]*api.SubmitResponse, 5)
	ops := []*groupOp{
		submitOp(s, SubmitParams{Paths: []string{"/jfs/a"}, UID: 1, Token: "t1", Source: api.SourceSubmit}, &r[0]),
		submitOp(s, SubmitParams{Paths: []string{"/jfs/a"}, UID: 2, Token: "t2", Source: api.SourceSubmit}, &r[1]),
		submitOp(s, SubmitParams{Paths: []string{"/jfs/a/x"}, UID: 3, Source: api.SourceManual}, &r[2]),
		submitOp(s, SubmitParams{Paths: []string{"/jfs/b"}, UID: 1, Token: "t1", Source: api.SourceSubmit}, &r[3]),
		submitOp(s, SubmitParams{Paths: []string{"/jfs/b/y", "/jfs/c"}, UID: 4, Source: api.SourceManual}, &r[4]),
	}
	for i, err := range s.runGroup(ops) {
		require.NoError(t, err, "op %d", i)
	}
	a := r[0].Items[0]
	require.Equal(t, OutcomeNew, a.Outcome)
	require.Equal(t, OutcomeJoined, r[1].Items[0].Outcome)
	require.Equal(t, a.TaskID, r[1].Items[0].TaskID)
	require.Equal(t, OutcomeCovered, r[2].Items[0].Outcome)
	require.Equal(t, "/jfs/a", r[2].Items[0].Dataset)
	require.Equal(t, a.TaskID, r[2].Items[0].TaskID)
	b := r[3].Items[0]
	require.Equal(t, OutcomeNew, b.Outcome)
	require.NotEqual(t, a.TaskID, b.TaskID)
	require.Equal(t, []string{OutcomeCovered, OutcomeNew}, []string{r[4].Items[0].Outcome, r[4].Items[1].Outcome})
	require.Equal(t, b.TaskID, r[4].Items[0].TaskID)

	ids := map[int64]bool{}
	for _, x := range r {
		ids[x.RequestID] = true
	}
	require.Len(t, ids, 5, "each caller has a request of its own")
	require.Equal(t, 5, requestRows(t, s, "requests"))
	require.Equal(t, 2, requestRows(t, s, "jobs"), "token t1 is one job for both its requests")
	require.Equal(t, 3, requestRows(t, s, "job_tasks"), "t1 → /jfs/a and /jfs/b, t2 → /jfs/a")
}

// TestGroupFailureAnywhereSparesTheOthers makes the first, a middle or the
// last op of a group fail in the database (a claim of the active policy for
// another uid breaks a CHECK constraint): the group is run again with
// savepoints, so the others get the answers and rows they would have had
// alone, written once, and the failing one leaves no row. The store then
// goes on as usual.
func TestGroupFailureAnywhereSparesTheOthers(t *testing.T) {
	for _, bad := range []int{0, 2, 4} {
		t.Run(fmt.Sprint("bad=", bad), func(t *testing.T) {
			s := openTemp(t)
			r := make([]*api.SubmitResponse, 5)
			ops := make([]*groupOp, 5)
			for i := range ops {
				p := SubmitParams{Paths: []string{fmt.Sprintf("/jfs/d%d", i)}, UID: 7, Token: fmt.Sprint("tok", i), Source: api.SourceSubmit}
				if i == bad {
					p.Source, p.Token = api.SourceActive, "" // uid 7 may not own an active claim
				}
				ops[i] = submitOp(s, p, &r[i])
			}
			errs := s.runGroup(ops)
			for i, err := range errs {
				if i == bad {
					require.ErrorContains(t, err, "CHECK constraint failed")
					continue
				}
				require.NoError(t, err, "op %d", i)
				require.Equal(t, OutcomeNew, r[i].Items[0].Outcome)
			}
			require.Equal(t, 4, requestRows(t, s, "requests"), "one request row per good op, none for the bad one")
			require.Equal(t, 4, requestRows(t, s, "claims"))
			require.Equal(t, 4, requestRows(t, s, "jobs"))
			es, err := s.Queue(context.Background(), true)
			require.NoError(t, err)
			require.Len(t, es, 4)
			for _, e := range es {
				require.NotEqual(t, fmt.Sprintf("/jfs/d%d", bad), e.Dataset)
			}
			// The next group runs on the fast path again.
			var next *api.SubmitResponse
			require.NoError(t, s.runGroup([]*groupOp{submitOp(s, SubmitParams{Paths: []string{"/jfs/d0"}, UID: 7, Source: api.SourceManual}, &next)})[0])
			require.NotNil(t, next)
		})
	}
}

// TestConcurrentSubmitsAreDurable sends submissions from many goroutines at
// once (the leader batches them as they come), some failing in the database,
// then closes the store and opens the file again: every acknowledged
// submission is there with the request id and task it was answered, and no
// refused one is.
func TestConcurrentSubmitsAreDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	s, err := Open(path, zerolog.Nop())
	require.NoError(t, err)
	const n = 200
	type answer struct {
		req, task int64
		err       error
	}
	got := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := SubmitParams{Paths: []string{fmt.Sprintf("/jfs/p%02d/d%03d", i%10, i%100)}, UID: uint32(1000 + i%3),
				Token: fmt.Sprint("tok", i), Source: api.SourceSubmit, Now: batchNow}
			if i%17 == 5 {
				p.Source, p.Token = api.SourceActive, ""
			}
			resp, err := s.Submit(context.Background(), p)
			got[i].err = err
			if err == nil {
				got[i].req, got[i].task = resp.RequestID, resp.Items[0].TaskID
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close())

	s, err = Open(path, zerolog.Nop())
	require.NoError(t, err)
	defer s.Close()
	ok := 0
	for i, a := range got {
		if i%17 == 5 {
			require.ErrorContains(t, a.err, "CHECK constraint failed", "submission %d", i)
			continue
		}
		require.NoError(t, a.err, "submission %d", i)
		ok++
		var token string
		var task int64
		require.NoError(t, s.r.QueryRow(`SELECT r.token, c.task_id FROM requests r JOIN claims c ON c.request_id = r.id WHERE r.id = ?`, a.req).
			Scan(&token, &task), "submission %d's request %d after reopening", i, a.req)
		require.Equal(t, fmt.Sprint("tok", i), token, "request %d answered to submission %d", a.req, i)
		require.Equal(t, a.task, task)
	}
	require.Equal(t, ok, requestRows(t, s, "requests"))
	es, err := s.Queue(context.Background(), false)
	require.NoError(t, err)
	require.Len(t, es, 100, "one task per distinct path")
}
