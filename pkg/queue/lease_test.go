package queue_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestDequeueOrderAndEmpty(t *testing.T) {
	s, _ := open(t)
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.Nil(t, task, "empty queue gives nil, nil")

	old := submit(t, s, 1, t0, "/jfs/old")[0]
	young := submit(t, s, 1, t0.Add(time.Second), "/jfs/young")[0]
	urgent := submit(t, s, 1, t0.Add(2*time.Second), "/jfs/urgent")[0]
	require.NoError(t, s.SetPriorities(ctx(), map[int64]float64{urgent.TaskID: 10, 999999: 5}))

	var got []int64
	for range 3 {
		task, err := s.Dequeue(ctx(), "w", t0.Add(time.Minute), time.Minute)
		require.NoError(t, err)
		require.NotNil(t, task)
		require.Equal(t, api.TaskWarming, task.State)
		require.Equal(t, 1, task.Attempts)
		require.Equal(t, "w", task.LeaseOwner)
		require.Equal(t, t0.Add(2*time.Minute), task.LeaseExpires)
		got = append(got, task.ID)
	}
	require.Equal(t, []int64{urgent.TaskID, old.TaskID, young.TaskID}, got)
	task, err = s.Dequeue(ctx(), "w", t0.Add(time.Minute), time.Minute)
	require.NoError(t, err)
	require.Nil(t, task, "everything is leased")
}

func TestRetryWaitsForNotBefore(t *testing.T) {
	s, _ := open(t)
	submit(t, s, 1, t0, "/jfs/flaky")
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	retryAt := t0.Add(5 * time.Minute)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskQueued, Err: "object storage timeout", RetryAt: retryAt, Reason: "retry 2 of 3"}, t0.Add(time.Second)))

	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	require.Equal(t, api.TaskQueued, es[0].State)
	require.Equal(t, "retry 2 of 3", es[0].Reason)

	none, err := s.Dequeue(ctx(), "w", retryAt.Add(-time.Nanosecond), time.Minute)
	require.NoError(t, err)
	require.Nil(t, none, "not before RetryAt")
	again, err := s.Dequeue(ctx(), "w", retryAt, time.Minute)
	require.NoError(t, err)
	require.NotNil(t, again)
	require.Equal(t, task.ID, again.ID)
	require.Equal(t, 2, again.Attempts)
}

// The store records the scheduler's retry decision and decides nothing
// itself: a retry stays a retry however many attempts ran (it used to turn
// into failed at the row's max_attempts, 5, whatever --retries said).
func TestFinishRecordsTheRetryItIsTold(t *testing.T) {
	s, path := open(t)
	submit(t, s, 1, t0, "/jfs/broken")
	now := t0
	for i := range 7 {
		task, err := s.Dequeue(ctx(), "w", now, time.Minute)
		require.NoError(t, err)
		require.NotNil(t, task, "attempt %d", i+1)
		require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskQueued, Err: "EIO", RetryAt: now, Reason: "retry by policy"}, now))
		now = now.Add(time.Second)
	}
	es, err := s.Queue(ctx(), true)
	require.NoError(t, err)
	require.Equal(t, api.TaskQueued, es[0].State, "7 attempts: still the retry the caller asked for")
	require.Equal(t, "retry by policy", es[0].Reason)
	require.Equal(t, 7, es[0].Attempts)

	task, err := s.Dequeue(ctx(), "w", now, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskFailed, Err: "EIO", Reason: "gave up after 8 attempts"}, now))
	es, err = s.Queue(ctx(), true)
	require.NoError(t, err)
	require.Equal(t, api.TaskFailed, es[0].State)
	require.Equal(t, "gave up after 8 attempts", es[0].Reason)
	var n int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT count(*) FROM attempts WHERE task_id = ? AND error = 'EIO' AND finished_at IS NOT NULL`, es[0].TaskID).Scan(&n))
	require.Equal(t, 8, n, "every attempt is closed in the history")
}

func TestExpiredLeaseIsReclaimed(t *testing.T) {
	s, path := open(t)
	submit(t, s, 1, t0, "/jfs/ds")
	lease := 30 * time.Second
	a, err := s.Dequeue(ctx(), "daemon-1", t0, lease)
	require.NoError(t, err)
	// daemon-1 heartbeats once, then is SIGKILLed.
	require.NoError(t, s.Heartbeat(ctx(), a.ID, "daemon-1", t0.Add(20*time.Second), lease))

	none, err := s.Dequeue(ctx(), "daemon-2", t0.Add(49*time.Second), lease)
	require.NoError(t, err)
	require.Nil(t, none, "the lease was extended to 50s")
	b, err := s.Dequeue(ctx(), "daemon-2", t0.Add(50*time.Second), lease)
	require.NoError(t, err)
	require.NotNil(t, b, "a task whose worker died is never lost")
	require.Equal(t, a.ID, b.ID)
	require.Equal(t, "daemon-2", b.LeaseOwner)
	require.Equal(t, 2, b.Attempts)

	// The old owner lost it, for every call.
	require.ErrorIs(t, s.Heartbeat(ctx(), a.ID, "daemon-1", t0.Add(51*time.Second), lease), queue.ErrLeaseLost)
	require.ErrorIs(t, s.Progress(ctx(), a.ID, "daemon-1", queue.Check{Bytes: 1}, t0.Add(51*time.Second)), queue.ErrLeaseLost)
	require.ErrorIs(t, s.Finish(ctx(), a.ID, "daemon-1", queue.Outcome{State: api.TaskWarm}, t0.Add(51*time.Second)), queue.ErrLeaseLost)
	require.NoError(t, s.Finish(ctx(), b.ID, "daemon-2", queue.Outcome{State: api.TaskWarm, Check: &queue.Check{Files: 2, Bytes: 10, CachedBytes: 10, Ratio: 1}}, t0.Add(time.Minute)))

	rows, err := rawDB(t, path).Query(`SELECT n, owner, outcome, error FROM attempts WHERE task_id = ? ORDER BY n`, a.ID)
	require.NoError(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var n int
		var owner, outcome, msg string
		require.NoError(t, rows.Scan(&n, &owner, &outcome, &msg))
		got = append(got, fmt.Sprintf("%d %s %s %s", n, owner, outcome, msg))
	}
	require.Equal(t, []string{
		"1 daemon-1 failed lease of daemon-1 expired: the worker stopped heartbeating (crashed or killed)",
		"2 daemon-2 warm ",
	}, got)

	ds, err := s.Datasets(ctx())
	require.NoError(t, err)
	require.Equal(t, int64(10), ds[0].CachedBytes)
	require.Equal(t, api.TaskWarm, ds[0].State)
	require.Equal(t, t0.Add(time.Minute), *ds[0].CheckedAt)
}

// TestTwoOwnersNeverHoldOneTask races two workers over a few tasks with a
// shared clock that advances past lease expiries; at every step each task
// has at most one holder.
func TestTwoOwnersNeverHoldOneTask(t *testing.T) {
	s, _ := open(t)
	for i := range 4 {
		submit(t, s, 1, t0, fmt.Sprintf("/jfs/ds%d", i))
	}
	lease := 10 * time.Second
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	holders := map[int64]string{} // task -> owner who believes it holds it
	var hmu sync.Mutex            // held by the caller of claim
	switches := 0                 // tasks that moved from one owner to the other
	claim := func(id int64, owner string) {
		if prev, ok := holders[id]; ok && prev != owner {
			// The previous holder must have lost its lease by now.
			err := s.Heartbeat(ctx(), id, prev, clock(), lease)
			assert.ErrorIs(t, err, queue.ErrLeaseLost, "task %d held by %s and %s", id, prev, owner)
			switches++
		}
		holders[id] = owner
	}
	var wg sync.WaitGroup
	for _, owner := range []string{"A", "B"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				// Dequeue and record the claim together, so the record's order is the store's order.
				hmu.Lock()
				task, err := s.Dequeue(ctx(), owner, clock(), lease)
				assert.NoError(t, err)
				if task != nil {
					claim(task.ID, owner)
				}
				hmu.Unlock()
				mu.Lock()
				now = now.Add(3 * time.Second) // leases lapse every few rounds
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	for _, e := range es {
		require.Equal(t, api.TaskWarming, e.State)
	}
	require.Len(t, holders, 4)
	require.Positive(t, switches, "expired leases moved tasks between owners")
}

func TestReleaseLeasesRequeuesWithoutCountingAttempt(t *testing.T) {
	s, path := open(t)
	submit(t, s, 1, t0, "/jfs/a", "/jfs/b")
	a, err := s.Dequeue(ctx(), "old", t0, time.Hour)
	require.NoError(t, err)
	b, err := s.Dequeue(ctx(), "other", t0, time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.ReleaseLeases(ctx(), "old"))

	st, reason := taskState(t, s, a.ID)
	require.Equal(t, api.TaskQueued, st)
	require.Equal(t, "released at shutdown", reason)
	st, _ = taskState(t, s, b.ID)
	require.Equal(t, api.TaskWarming, st, "other owners keep their leases")
	require.ErrorIs(t, s.Heartbeat(ctx(), a.ID, "old", t0, time.Hour), queue.ErrLeaseLost)

	again, err := s.Dequeue(ctx(), "new", t0.Add(time.Second), time.Hour)
	require.NoError(t, err)
	require.Equal(t, a.ID, again.ID, "released at once, no wait for the lease")
	require.Equal(t, 1, again.Attempts, "the interrupted attempt is not counted")
	var n int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT count(*) FROM attempts WHERE task_id = ?`, a.ID).Scan(&n))
	require.Equal(t, 1, n)
}

func TestProgressAndFinishValidate(t *testing.T) {
	s, _ := open(t)
	submit(t, s, 1, t0, "/jfs/ds")
	task, err := s.Dequeue(ctx(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Progress(ctx(), task.ID, "w", queue.Check{Files: 3, Bytes: 300, CachedBytes: 150, Ratio: 0.5}, t0.Add(time.Second)))
	es, err := s.Queue(ctx(), false)
	require.NoError(t, err)
	require.Equal(t, int64(300), es[0].Bytes)
	require.Equal(t, int64(150), es[0].CachedBytes)
	require.InDelta(t, 0.5, es[0].CachedRatio, 1e-9)

	err = s.Finish(ctx(), task.ID, "w", queue.Outcome{State: api.TaskEvicted}, t0)
	require.ErrorContains(t, err, "not one of warm, partial, failed, queued")
	_, err = s.Dequeue(ctx(), "", t0, time.Minute)
	require.ErrorContains(t, err, "empty lease owner")
	_, err = s.Dequeue(ctx(), "w", t0, 0)
	require.ErrorContains(t, err, "positive lease")
	require.False(t, errors.Is(s.Heartbeat(ctx(), task.ID, "w", t0, time.Minute), queue.ErrLeaseLost))
}
