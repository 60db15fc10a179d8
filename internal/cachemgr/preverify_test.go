package cachemgr

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// pendingJob submits Slurm job jobID naming path at sbatch time (token
// tok) and records the start squeue expects (zero: unknown).
func pendingJob(t *testing.T, s *queue.Store, jobID uint64, tok string, now, expected time.Time, path string) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{path}, UID: 1000, Token: tok, Source: api.SourceSubmit, Now: now})
	require.NoError(t, err)
	_, err = s.ObserveSlurmJobs(ctx, []queue.SlurmJob{{JobID: jobID, Token: tok, State: "PENDING", ExpectedStart: expected}}, now)
	require.NoError(t, err)
}

// idle waits until no check of v runs.
func idle(t *testing.T, v *Verifier, paths ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, p := range paths {
			if v.Verifying(p) {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond)
}

// The realistic job start: the data was warmed long before (its last check
// is far older than VerifyMaxAge). Pre-verification re-checks it while the
// job is pending, so the prolog's answer is warm from the store alone: no
// check of its own, no wait.
func TestPreVerifyGivesThePrologTheFastPath(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	pendingJob(t, s, 21, "tok", t0, t0.Add(time.Hour), "/jfs/a")
	warmQueued(t, s, t0, 100)
	d.set("/jfs/a", 100, 100)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second, Wait: time.Hour}, s, d, c)

	c.Add(time.Hour - 30*time.Second) // the job is expected in 30 s
	require.Equal(t, []string{"/jfs/a"}, v.preVerifyOnce(ctx))
	idle(t, v, "/jfs/a")
	require.Empty(t, v.preVerifyOnce(ctx), "fresh: not checked again")
	c.Add(2 * time.Second)
	require.Empty(t, v.preVerifyOnce(ctx), "not older than MaxAge/2 yet")
	c.Add(time.Second)
	require.Equal(t, []string{"/jfs/a"}, v.preVerifyOnce(ctx), "kept fresh while the job waits")
	idle(t, v, "/jfs/a")
	c.Add(2 * time.Second)

	_, err := s.JobStart(ctx, 21, queue.JobStartParams{Token: "tok", Node: "n1", UID: 1000, Now: c.Now()})
	require.NoError(t, err)
	st, err := s.JobStatus(ctx, 21)
	require.NoError(t, err)
	require.Empty(t, v.judgeJob(st, time.Time{}), "the prolog waits for no check")
	require.True(t, st.Ready)
	require.True(t, st.Warm)
	require.Equal(t, 2, d.checksOf("/jfs/a"), "only the pre-verifications")
	require.Empty(t, v.preVerifyOnce(ctx), "a started job is not pre-verified")
}

// Jobs expected soonest come first; jobs whose start is unknown after them;
// jobs beyond the horizon not at all; at most half of VerifyParallel
// pre-checks run at once.
func TestPreVerifySoonestFirstWithinBudget(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	pendingJob(t, s, 31, "t1", t0, t0.Add(90*time.Second), "/jfs/later")
	pendingJob(t, s, 32, "t2", t0, time.Time{}, "/jfs/unknown")
	pendingJob(t, s, 33, "t3", t0, t0.Add(10*time.Second), "/jfs/soon")
	pendingJob(t, s, 34, "t4", t0, t0.Add(time.Hour), "/jfs/far")
	warmQueued(t, s, t0, 100)
	d.hold = make(chan struct{})
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second, Parallel: 4, Horizon: 2 * time.Minute}, s, d, c)
	c.Add(time.Minute)

	require.Equal(t, []string{"/jfs/soon", "/jfs/later"}, v.preVerifyOnce(ctx), "two slots of four")
	require.Empty(t, v.preVerifyOnce(ctx), "the budget is used")
	close(d.hold)
	idle(t, v, "/jfs/soon", "/jfs/later")
	require.Equal(t, []string{"/jfs/unknown"}, v.preVerifyOnce(ctx))
	idle(t, v, "/jfs/unknown")
	require.Empty(t, v.preVerifyOnce(ctx))
	require.Zero(t, d.checksOf("/jfs/far"), "beyond the horizon")
}

// A path whose check is slow is left to its prolog: keeping it fresh would
// re-read its cache all the time.
func TestPreVerifySkipsSlowChecks(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	pendingJob(t, s, 41, "t1", t0, time.Time{}, "/jfs/big")
	warmQueued(t, s, t0, 100)
	d.hold = make(chan struct{})
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	c.Add(time.Minute)
	require.Equal(t, []string{"/jfs/big"}, v.preVerifyOnce(ctx))
	require.Eventually(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.inFlight == 1 }, 10*time.Second, 5*time.Millisecond)
	c.Add(3 * time.Second) // the check takes 3 s, more than MaxAge/5
	close(d.hold)
	idle(t, v, "/jfs/big")
	c.Add(time.Minute)
	require.Empty(t, v.preVerifyOnce(ctx))
	require.Equal(t, 1, d.checksOf("/jfs/big"))
}

// Pre-verification finding the data of a pending job short queues it again
// for that job, before its prolog.
func TestPreVerifyFindsEvictedDataBeforeThePrologDoes(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	pendingJob(t, s, 51, "t1", t0, time.Time{}, "/jfs/a")
	warmQueued(t, s, t0, 100)
	d.set("/jfs/a", 100, 0)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	c.Add(time.Minute)
	require.Equal(t, []string{"/jfs/a"}, v.preVerifyOnce(ctx))
	idle(t, v, "/jfs/a")
	es, err := s.Queue(ctx, false)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, api.TaskQueued, es[0].State)
	require.Equal(t, 1, es[0].JobsWaiting)
}

// PreVerify runs the rounds by itself (warmupd starts it) and stops with
// its context.
func TestPreVerifyRuns(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	pendingJob(t, s, 61, "t1", t0, time.Time{}, "/jfs/a")
	warmQueued(t, s, t0, 100)
	d.set("/jfs/a", 100, 100)
	v := newVerifier(t, VerifyConfig{MaxAge: 200 * time.Millisecond}, s, d, c)
	c.Add(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); v.PreVerify(ctx) }()
	require.Eventually(t, func() bool { return d.checksOf("/jfs/a") == 1 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	<-done
}

// However many jobs are pending, only the data of the 8 × VerifyParallel
// soonest is kept fresh: the load of the pre-checks stays bounded.
func TestPreVerifyKeepsOnlyTheSoonest(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	var paths []string
	for i := range 10 {
		p := fmt.Sprintf("/jfs/d%02d", i)
		paths = append(paths, p)
		d.set(p, 100, 100)
		pendingJob(t, s, uint64(70+i), fmt.Sprintf("t%d", i), t0, t0.Add(time.Minute+time.Duration(i)*time.Second), p)
	}
	warmQueued(t, s, t0, 100)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second, Parallel: 1}, s, d, c)
	c.Add(time.Minute)
	var order []string
	for range 20 {
		got := v.preVerifyOnce(ctx)
		if len(got) == 0 {
			break
		}
		require.Len(t, got, 1, "VerifyParallel 1: one pre-check at a time")
		idle(t, v, got...)
		order = append(order, got...)
	}
	require.Equal(t, paths[:8], order, "the 8 soonest, soonest first")
	require.Zero(t, d.checksOf(paths[8]))
	require.Zero(t, d.checksOf(paths[9]))
}
