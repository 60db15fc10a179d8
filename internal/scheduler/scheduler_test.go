package scheduler

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/retry"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

const gib = 1 << 30

// Data already cached is not checked before its warm-up (that would be a
// walk): juicefs warmup finds every block cached and fetches nothing, and
// the verifying check finds it warm.
func TestAlreadyWarmIsNotCheckedBefore(t *testing.T) {
	r := newRig(t, newDriver(gib, gib, 1), Config{})
	id := r.submit("/jfs/ds")
	r.attempt()
	e := r.entry(id)
	require.Equal(t, api.TaskWarm, e.State)
	require.Equal(t, 1.0, e.CachedRatio)
	warmups, checks := r.drv.counts()
	require.Equal(t, 1, warmups)
	require.Equal(t, 1, checks, "only the verifying check")
}

func TestWarmupVerifiedAtTargetIsWarm(t *testing.T) {
	r := newRig(t, newDriver(0, gib, 0.995), Config{TargetRatio: 0.99})
	id := r.submit("/jfs/ds")
	r.attempt()
	e := r.entry(id)
	require.Equal(t, api.TaskWarm, e.State)
	require.Equal(t, 1, e.Attempts)
	require.InDelta(t, 0.995, e.CachedRatio, 0.001, "the verifying check is recorded")
	warmups, checks := r.drv.counts()
	require.Equal(t, 1, warmups)
	require.Equal(t, 1, checks, "one verifying check after, none before or during")
}

// juicefs writes the cache asynchronously: a verifying check that comes
// too early is repeated before the result counts as short.
func TestShortFirstCheckIsRecheckedBeforeItCounts(t *testing.T) {
	drv := newDriver(0, gib, 1)
	drv.lag = 2
	r := newRig(t, drv, Config{})
	id := r.submit("/jfs/ds")
	r.attempt()
	e := r.entry(id)
	require.Equal(t, api.TaskWarm, e.State, "warm on the third verifying check")
	require.Equal(t, 1, e.Attempts)
	_, checks := drv.counts()
	require.Equal(t, 3, checks)
}

// A result below target is re-checked (the cache write is asynchronous),
// then retried at the times the policy gives (10s, 20s, 40s, …, on the
// injected clock), and partial after the last attempt. Six attempts: more
// than the store's old max_attempts (5), which used to turn the retry into
// failed whatever --retries said.
func TestShortResultIsRetriedByThePolicyThenPartial(t *testing.T) {
	policy := retry.Policy{Attempts: 6, Backoff: 10 * time.Second, Max: time.Hour}
	r := newRig(t, newDriver(0, gib, 0.5), Config{Retry: policy})
	id := r.submit("/jfs/ds")
	for n := 1; n < policy.Attempts; n++ {
		r.attempt()
		e := r.entry(id)
		require.Equal(t, api.TaskQueued, e.State, "after attempt %d", n)
		require.Equal(t, n, e.Attempts)
		require.Equal(t, policy.Reason(n, true), e.Reason)
		wait := policy.Delay(n)
		require.Equal(t, 10*time.Second<<(n-1), wait)

		r.clk.Set(r.clk.Now().Add(wait - time.Nanosecond))
		require.Nil(t, r.dequeue(), "attempt %d: not before the backoff (%v) has passed", n+1, wait)
		r.clk.Set(r.clk.Now().Add(time.Nanosecond))
	}
	r.attempt()
	e := r.entry(id)
	require.Equal(t, api.TaskPartial, e.State)
	require.Equal(t, "gave up after 6 attempts", e.Reason)
	require.Equal(t, 6, e.Attempts)
	require.InDelta(t, 0.5, e.CachedRatio, 0.001)
	warmups, checks := r.drv.counts()
	require.Equal(t, 6, warmups)
	require.Equal(t, 6*3, checks, "each attempt: up to three verifying checks")
	require.Nil(t, r.dequeue(), "partial is final")
}

// A failing juicefs warmup, or a check that fails after the warm-up (an
// attempt that fell short, too), is retried until the policy's attempts are
// spent, then the task is failed; a path juicefs cannot use fails at once:
// retrying will not help.
func TestFailedAttemptsAreRetriedThenFailed(t *testing.T) {
	for _, tc := range []struct {
		name, path        string
		warmErr, checkErr error
		attempts          int    // the retry policy's
		tries             int    // attempts made before the task fails
		reason            string // "": not asserted
	}{
		{name: "driver error", path: "/jfs/ds", warmErr: &jfs.ExecError{Op: "warmup", ExitCode: 1, Err: errors.New("object storage: 503 slow down")},
			attempts: 2, tries: 2, reason: "gave up after 2 attempts"},
		{name: "failing verification", path: "/jfs/ds", checkErr: errors.New("juicefs warmup --check: exit 1"),
			attempts: 1, tries: 1, reason: "gave up after 1 attempts"},
		{name: "path error", path: "/jfs/gone", warmErr: &jfs.PathError{Op: "warmup", Path: "/jfs/gone", Detail: "no such file or directory"},
			attempts: 5, tries: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drv := newDriver(0, gib, 1)
			drv.warmErr, drv.checkErr = tc.warmErr, tc.checkErr
			r := newRig(t, drv, Config{Retry: retry.Policy{Attempts: tc.attempts, Backoff: time.Minute}})
			id := r.submit(tc.path)
			for range tc.tries - 1 {
				r.attempt()
				require.Equal(t, api.TaskQueued, r.entry(id).State)
				r.clk.Add(time.Minute)
			}
			r.attempt()
			e := r.entry(id)
			require.Equal(t, api.TaskFailed, e.State)
			require.Equal(t, tc.tries, e.Attempts)
			if tc.reason != "" {
				require.Equal(t, tc.reason, e.Reason)
			}
			r.clk.Add(24 * time.Hour)
			require.Nil(t, r.dequeue(), "no retry")
		})
	}
}

// Cancelling a warming task stops its warm-up at once through Stop (the
// lease is an hour: no heartbeat comes to the rescue), and the worker
// records nothing: the task stays cancelled.
func TestCancelStopsTheRunningWarmupAtOnce(t *testing.T) {
	r, drv, id := newBlockedRig(t, gib, Config{})
	task := r.dequeue()
	done := r.goWork(context.Background(), task)
	<-drv.started

	ids := r.cancel(id)
	require.Equal(t, []int64{id}, ids)
	stopped := time.Now()
	r.s.Stop(append(ids, 999)) // an id not running here is ignored
	select {
	case cause := <-drv.ended:
		// Stop, or the worker's first heartbeat if it came after the cancel.
		require.True(t, errors.Is(cause, errCancelled) || errors.Is(cause, errLeaseLost), "cause %v", cause)
		require.Less(t, time.Since(stopped), 5*time.Second)
	case <-time.After(30 * time.Second):
		t.Fatal("the warm-up was not stopped after the cancel")
	}
	<-done
	e := r.entry(id)
	require.Equal(t, api.TaskCancelled, e.State, "the stopped attempt records nothing")
	require.Zero(t, e.CachedRatio)
	require.Empty(t, r.s.running, "the worker unregistered")
}

// A juicefs that completes the fetch just as the cancel comes does not make
// the cancelled task warm: the worker drops the result.
func TestResultOfACancelledWarmupIsDropped(t *testing.T) {
	r, drv, id := newBlockedRig(t, gib, Config{})
	drv.anyway = true
	task := r.dequeue()
	done := r.goWork(context.Background(), task)
	<-drv.started
	r.s.Stop(r.cancel(id))
	<-done
	e := r.entry(id)
	require.Equal(t, api.TaskCancelled, e.State)
	require.Zero(t, e.CachedRatio, "not even the check of the finished fetch is recorded")
	_, checks := drv.counts()
	require.Zero(t, checks, "no verifying check after a cancel")
}

// A task cancelled between its dequeue and its worker's start is noticed by
// the worker's first heartbeat, sent at once (not after Lease/3).
func TestCancelBeforeTheWorkerStartsIsNoticedAtOnce(t *testing.T) {
	r, _, id := newBlockedRig(t, gib, Config{})
	task := r.dequeue()
	r.cancel(id)
	r.s.Stop([]int64{id}) // too early: nothing runs yet

	done := r.goWork(context.Background(), task)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker of a cancelled task kept running")
	}
	require.Equal(t, api.TaskCancelled, r.entry(id).State)
}

// Shutdown stops the running warm-up and hands its task back to the queue;
// the interrupted attempt does not count.
func TestShutdownHandsTheTaskBack(t *testing.T) {
	r, drv, id := newBlockedRig(t, gib, Config{})
	stop := r.goRun()
	<-drv.started
	require.Equal(t, api.TaskWarming, r.entry(id).State)
	require.NoError(t, stop())
	require.ErrorIs(t, <-drv.ended, context.Canceled)
	e := r.entry(id)
	require.Equal(t, api.TaskQueued, e.State)
	require.Equal(t, 0, e.Attempts, "the interrupted attempt is forgotten")
	require.Equal(t, "released at shutdown", e.Reason)
	requireNoGoroutine(t, "(*Scheduler).heartbeat", "(*Scheduler).progressLoop", "(*Scheduler).work")
}

// requireNoGoroutine fails when a goroutine runs one of the functions: Run
// has returned, so nothing it started may still use the store.
func requireNoGoroutine(t *testing.T, funcs ...string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range funcs {
			require.NotContains(t, g, "scheduler."+f+"(", "a goroutine outlived Run:\n%s", g)
		}
	}
}

// A task whose worker died (its lease ran out on the injected clock) is
// taken up by the running scheduler and finished.
func TestExpiredLeaseIsTakenUp(t *testing.T) {
	r := newRig(t, newDriver(0, gib, 1), Config{})
	id := r.submit("/jfs/ds")
	_, err := r.store.Dequeue(context.Background(), "dead-daemon", t0, 30*time.Second)
	require.NoError(t, err)
	stop := r.goRun()
	defer func() { require.NoError(t, stop()) }()

	time.Sleep(50 * time.Millisecond) // a few ticks: the lease has not run out
	require.Equal(t, api.TaskWarming, r.entry(id).State)
	warmups, _ := r.drv.counts()
	require.Zero(t, warmups, "a live lease is respected")

	r.clk.Set(t0.Add(30 * time.Second))
	r.s.Kick()
	require.Eventually(t, func() bool { return r.entry(id).State == api.TaskWarm }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, 2, r.entry(id).Attempts, "the dead daemon's attempt counts")
}

// With a planner, only the tasks it allows start.
func TestPlanGatesQueuedTasks(t *testing.T) {
	allowed := make(chan []int64, 1)
	allowed <- nil
	plan := func(ctx context.Context, free int) ([]int64, time.Duration) {
		ids := <-allowed
		allowed <- ids
		return ids, 0
	}
	r := newRig(t, newDriver(0, gib, 1), Config{Plan: plan})
	a, b := r.submit("/jfs/a"), r.submit("/jfs/b")
	stop := r.goRun()
	defer func() { require.NoError(t, stop()) }()

	time.Sleep(50 * time.Millisecond)
	require.Equal(t, api.TaskQueued, r.entry(a).State, "not allowed yet")
	<-allowed
	allowed <- []int64{b}
	r.s.Kick()
	require.Eventually(t, func() bool { return r.entry(b).State == api.TaskWarm }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, api.TaskQueued, r.entry(a).State)
}

// While a warm-up runs, its progress comes from the mount's .stats counters
// read every CheckInterval (no check: the dataset is not walked again), and
// its speed is measured on the injected clock.
func TestProgressIsRecordedWhileWarming(t *testing.T) {
	drv := newDriver(0, 100<<20, 1)
	drv.block = true
	r := newRig(t, drv, Config{CheckInterval: 5 * time.Millisecond})
	ds := r.dataset("ds", 60<<20, 40<<20)
	drv.setFetched(7 << 30) // what the mount fetched before: not this warm-up's
	id := r.submit(ds)
	task := r.dequeue()
	ctx, cancel := context.WithCancel(context.Background())
	done := r.goWork(ctx, task)
	<-drv.started
	for i, mib := range []int64{10, 30, 50} {
		drv.setFetched(7<<30 + mib<<20)
		r.clk.Set(t0.Add(time.Duration(i) * 10 * time.Second))
		require.Eventually(t, func() bool { return r.entry(id).CachedBytes == mib<<20 }, 30*time.Second, 5*time.Millisecond)
	}
	require.Eventually(t, func() bool { return r.s.Rate(ds) > 0 }, 30*time.Second, 5*time.Millisecond)
	require.InDelta(t, float64(2<<20), r.s.Rate(ds), float64(1<<20), "20 MiB in 10 s of the test clock")
	cancel()
	<-done
	require.Zero(t, r.s.Rate(ds), "forgotten once the warm-up ends")
	e := r.entry(id)
	require.Equal(t, int64(100<<20), e.Bytes, "the size the walk found")
	require.Equal(t, 0.5, e.CachedRatio)
	_, checks := drv.counts()
	require.Zero(t, checks)
}
