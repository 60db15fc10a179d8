package queue_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestSubmitNewThenJoined(t *testing.T) {
	s, _ := open(t)
	a := submit(t, s, 1000, t0, "/jfs/imagenet")[0]
	require.Equal(t, queue.OutcomeNew, a.Outcome)
	require.Equal(t, api.TaskQueued, a.State)
	require.Equal(t, "/jfs/imagenet", a.Dataset)

	b := submit(t, s, 1001, t0.Add(time.Second), "/jfs/imagenet")[0]
	require.Equal(t, queue.OutcomeJoined, b.Outcome)
	require.Equal(t, a.TaskID, b.TaskID)

	// Joined while warming and while warm too.
	task, err := s.Dequeue(ctx(), "w1", t0, time.Minute)
	require.NoError(t, err)
	require.Equal(t, api.TaskWarming, submit(t, s, 1, t0, "/jfs/imagenet")[0].State)
	require.NoError(t, s.Finish(ctx(), task.ID, "w1", queue.Outcome{State: api.TaskWarm}, t0.Add(time.Second)))
	c := submit(t, s, 1, t0, "/jfs/imagenet")[0]
	require.Equal(t, queue.OutcomeJoined, c.Outcome)
	require.Equal(t, api.TaskWarm, c.State)

	counts, err := s.Counts(ctx())
	require.NoError(t, err)
	require.Equal(t, 1, counts[api.TaskWarm])
	require.Equal(t, 0, counts[api.TaskQueued])
}

func TestSubmitRevivesTerminalTask(t *testing.T) {
	for _, end := range []api.TaskState{api.TaskPartial, api.TaskFailed, api.TaskCancelled} {
		t.Run(string(end), func(t *testing.T) {
			s, _ := open(t)
			a := submit(t, s, 1000, t0, "/jfs/ds")[0]
			if end == api.TaskCancelled {
				_, err := s.Cancel(ctx(), 1000, api.CancelRequest{TaskIDs: []int64{a.TaskID}}, t0)
				require.NoError(t, err)
			} else {
				task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
				require.NoError(t, err)
				require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: end, Err: "boom"}, t0))
			}
			st, _ := taskState(t, s, a.TaskID)
			require.Equal(t, end, st)

			b := submit(t, s, 1001, t0.Add(time.Minute), "/jfs/ds")[0]
			require.Equal(t, queue.OutcomeNew, b.Outcome)
			require.Equal(t, a.TaskID, b.TaskID, "revived in place, not a second task")
			es, err := s.Queue(ctx(), false)
			require.NoError(t, err)
			require.Len(t, es, 1)
			require.Equal(t, api.TaskQueued, es[0].State)
			require.Equal(t, 0, es[0].Attempts)
			require.Equal(t, uint32(1001), es[0].Owner)
		})
	}
}

func TestSubmitCoveredByAncestor(t *testing.T) {
	s, _ := open(t)
	parent := submit(t, s, 1000, t0, "/jfs/coco")[0]
	child := submit(t, s, 1001, t0, "/jfs/coco/train/images")[0]
	require.Equal(t, queue.OutcomeCovered, child.Outcome)
	require.Equal(t, "/jfs/coco", child.Dataset)
	require.Equal(t, "/jfs/coco/train/images", child.Path)
	require.Equal(t, parent.TaskID, child.TaskID)

	// A sibling whose name only shares the prefix is not covered.
	other := submit(t, s, 1001, t0, "/jfs/coco2")[0]
	require.Equal(t, queue.OutcomeNew, other.Outcome)
	require.NotEqual(t, parent.TaskID, other.TaskID)

	// The root covers everything.
	requireCovers(t, "/", 0, "/jfs/x")
}

func TestSubmitParentAbsorbsQueuedChildren(t *testing.T) {
	s, _ := open(t)
	// Two jobs link to children; one child is warming and must be left alone.
	for i, p := range []string{"/jfs/ds/a", "/jfs/ds/b", "/jfs/ds/c"} {
		_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{p}, UID: 1000, Token: "tok" + p, Source: api.SourceSubmit, Now: t0.Add(time.Duration(i) * time.Second)})
		require.NoError(t, err)
	}
	warming, err := s.Dequeue(ctx(), "w", t0.Add(time.Minute), time.Hour)
	require.NoError(t, err)
	require.Equal(t, "/jfs/ds/a", warming.Path)
	outside := submit(t, s, 1000, t0, "/jfs/ds0")[0] // sorts right after the range; not a child

	r, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/ds"}, UID: 1000, Source: api.SourceManual, Now: t0.Add(2 * time.Minute)})
	require.NoError(t, err)
	parent := r.Items[0]
	require.Equal(t, queue.OutcomeAbsorbed, parent.Outcome)

	es, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	byPath := map[string]api.QueueEntry{}
	for _, e := range es {
		byPath[e.Dataset] = e
	}
	require.Equal(t, api.TaskWarming, byPath["/jfs/ds/a"].State)
	for _, p := range []string{"/jfs/ds/b", "/jfs/ds/c"} {
		require.Equal(t, api.TaskCancelled, byPath[p].State, p)
		require.Equal(t, "absorbed by /jfs/ds", byPath[p].Reason)
		require.Equal(t, 0, byPath[p].JobsWaiting)
	}
	require.Equal(t, api.TaskQueued, byPath["/jfs/ds0"].State)
	require.Equal(t, outside.TaskID, byPath["/jfs/ds0"].TaskID)
	// The two jobs of b and c now wait on the parent; a's job still waits on a.
	require.Equal(t, 2, byPath["/jfs/ds"].JobsWaiting)
	require.Equal(t, 1, byPath["/jfs/ds/a"].JobsWaiting)

	// Later requests for an absorbed child are covered by the parent.
	again := submit(t, s, 1000, t0, "/jfs/ds/b")[0]
	require.Equal(t, queue.OutcomeCovered, again.Outcome)
	require.Equal(t, parent.TaskID, again.TaskID)
}

func TestSubmitParentAndChildInOneRequest(t *testing.T) {
	s, _ := open(t)
	items := submit(t, s, 1000, t0, "/jfs/ds/sub", "/jfs/ds", "/jfs/ds/sub")
	require.Equal(t, "/jfs/ds/sub", items[0].Path, "items keep the request's order")
	require.Equal(t, queue.OutcomeCovered, items[0].Outcome)
	require.Equal(t, queue.OutcomeNew, items[1].Outcome)
	require.Equal(t, items[1].TaskID, items[0].TaskID)
	require.Equal(t, items[1].TaskID, items[2].TaskID)
	counts, err := s.Counts(ctx())
	require.NoError(t, err)
	require.Equal(t, 1, counts[api.TaskQueued])
	require.Equal(t, 0, counts[api.TaskCancelled])
}

func TestSubmitRejectsBadInput(t *testing.T) {
	s, _ := open(t)
	_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"jfs/rel"}, Now: t0})
	require.ErrorContains(t, err, "not absolute and clean")
	_, err = s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a/../b"}, Now: t0})
	require.ErrorContains(t, err, "not absolute and clean")
	_, err = s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a"}, Source: "cron", Now: t0})
	require.ErrorContains(t, err, `unknown source "cron"`)
	_, err = s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/a"}})
	require.ErrorContains(t, err, "Now is zero")
	counts, err := s.Counts(ctx())
	require.NoError(t, err)
	require.Equal(t, 0, counts[api.TaskQueued])
}

func TestConcurrentIdenticalSubmitsMakeOneTask(t *testing.T) {
	s, _ := open(t)
	const n = 32
	var wg sync.WaitGroup
	ids := make([]int64, n)
	outcomes := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{"/jfs/hot", "/jfs/hot/sub"}, UID: uint32(1000 + i), Source: api.SourceSubmit, Now: t0})
			errs[i] = err
			if err == nil {
				ids[i], outcomes[i] = r.Items[0].TaskID, r.Items[0].Outcome
				assert.Equal(t, ids[i], r.Items[1].TaskID)
			}
		}()
	}
	close(start)
	wg.Wait()
	news := 0
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
		if outcomes[i] == queue.OutcomeNew {
			news++
		}
	}
	require.Equal(t, 1, news, "exactly one submit created the task")
	es, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	require.Len(t, es, 1)
}
