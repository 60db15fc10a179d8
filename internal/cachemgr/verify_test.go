package cachemgr

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// warmJob starts Slurm job jobID naming paths and warms every queued task,
// verified at now.
func warmJob(t *testing.T, s *queue.Store, jobID uint64, now time.Time, paths ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := s.JobStart(ctx, jobID, queue.JobStartParams{Paths: paths, Node: "n1", UID: 1000, Now: now})
	require.NoError(t, err)
	warmQueued(t, s, now, 100)
}

func newVerifier(t *testing.T, cfg VerifyConfig, s *queue.Store, d *fakeDriver, c *testutil.Clock) *Verifier {
	t.Helper()
	v := NewVerifier(cfg, s, d, zerolog.New(zerolog.NewTestWriter(t)), c.Now)
	t.Cleanup(v.Close)
	return v
}

// jobAnswer is what the job status endpoint answers through v.
func jobAnswer(t *testing.T, s *queue.Store, v *Verifier, jobID uint64) *api.JobStatus {
	t.Helper()
	ctx := context.Background()
	st, err := s.JobStatus(ctx, jobID)
	require.NoError(t, err)
	st, err = v.Job(ctx, st, func(ctx context.Context) (*api.JobStatus, error) { return s.JobStatus(ctx, jobID) })
	require.NoError(t, err)
	return st
}

// Data verified within VerifyMaxAge is warm from the store alone: no check.
func TestVerifierFreshWarmNeedsNoCheck(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	warmJob(t, s, 1, t0, "/jfs/a")
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	c.Add(5 * time.Second)
	st := jobAnswer(t, s, v, 1)
	require.True(t, st.Ready)
	require.True(t, st.Warm)
	require.Equal(t, api.TaskWarm, st.Datasets[0].State)
	require.Zero(t, d.checksOf("/jfs/a"))
}

// An answer that waited for the check it started takes that check's word,
// however long it then took to read it back against a tiny VerifyMaxAge;
// not a check from before the question, nor one marked stale since.
func TestVerifierAnswerTakesTheCheckItWaitedFor(t *testing.T) {
	ctx := context.Background()
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	warmJob(t, s, 1, t0, "/jfs/a")
	d.set("/jfs/a", 100, 100)
	v := newVerifier(t, VerifyConfig{MaxAge: time.Millisecond}, s, d, c)
	c.Add(time.Minute)
	slowReload := func(ctx context.Context) (*api.JobStatus, error) {
		c.Add(time.Second) // reading the check back outlasts MaxAge
		return s.JobStatus(ctx, 1)
	}
	st, err := s.JobStatus(ctx, 1)
	require.NoError(t, err)
	st, err = v.Job(ctx, st, slowReload)
	require.NoError(t, err)
	require.Equal(t, 1, d.checksOf("/jfs/a"))
	require.True(t, st.Warm, "the check this answer waited for found it warm")

	// The next question: that check is now older than the question.
	_, err = s.MarkStale(ctx, api.StaleChangelog, []queue.StaleMark{{Path: "/jfs/a", Detail: "CREATE /jfs/a/x"}}, c.Now())
	require.NoError(t, err)
	d.set("/jfs/a", 100, 0)
	st, err = s.JobStatus(ctx, 1)
	require.NoError(t, err)
	st, err = v.Job(ctx, st, slowReload)
	require.NoError(t, err)
	require.Equal(t, 2, d.checksOf("/jfs/a"))
	require.False(t, st.Warm, "a check from before the question does not count; the new one found it short")
}

// Data verified longer ago is checked again before it is called warm; a
// check that finds it still cached makes the answer warm (and fresh again).
func TestVerifierStaleWarmIsCheckedFirst(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	warmJob(t, s, 1, t0, "/jfs/a")
	d.set("/jfs/a", 100, 100)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	c.Add(6 * time.Second)
	st := jobAnswer(t, s, v, 1)
	require.True(t, st.Warm, "re-verified within the answer's wait")
	require.Equal(t, 1, d.checksOf("/jfs/a"))
	require.Equal(t, c.Now(), *st.Datasets[0].CheckedAt)
	require.True(t, jobAnswer(t, s, v, 1).Warm)
	require.Equal(t, 1, d.checksOf("/jfs/a"), "fresh again: no second check")
}

// Blocks evicted behind warmupd's back: the stale record is not believed;
// the re-check finds the data short and the task is queued again for the job
// (its link kept), so the job waits instead of starting cold.
func TestVerifierEvictedBehindOurBackIsQueuedAgain(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	warmJob(t, s, 1, t0, "/jfs/a")
	d.set("/jfs/a", 100, 0)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	c.Add(time.Minute)
	st := jobAnswer(t, s, v, 1)
	require.False(t, st.Ready)
	require.False(t, st.Warm)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State)
	require.Equal(t, "/jfs/a", st.Datasets[0].Dataset)
	es, err := s.Queue(context.Background(), false)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, 1, es[0].JobsWaiting, "the job still waits for it")
	require.Contains(t, es[0].Reason, "re-verification found 0 of 100 bytes cached")
}

// A re-check that does not finish within VerifyTimeout never makes the data
// warm: the answer says verifying meanwhile, and the data is queued again.
func TestVerifierSlowCheckIsNeverWarm(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	warmJob(t, s, 1, t0, "/jfs/a")
	d.set("/jfs/a", 100, 100)
	d.hold = make(chan struct{}) // never released: the check hangs
	v := newVerifier(t, VerifyConfig{MaxAge: time.Second, Timeout: 300 * time.Millisecond, Wait: 10 * time.Millisecond}, s, d, c)
	c.Add(time.Hour)
	st := jobAnswer(t, s, v, 1)
	require.False(t, st.Ready)
	require.Equal(t, api.TaskVerifying, st.Datasets[0].State)
	require.Eventually(t, func() bool {
		st, err := s.JobStatus(context.Background(), 1)
		require.NoError(t, err)
		return st.Datasets[0].State == api.TaskQueued
	}, 10*time.Second, 20*time.Millisecond, "the timed-out check queued it again")
	es, err := s.Queue(context.Background(), false)
	require.NoError(t, err)
	require.Contains(t, es[0].Reason, "did not finish within VerifyTimeout")
}

// A re-check that fails says nothing about the cache: never warm, queued
// again (the worker's own check decides), and the scheduler is woken.
func TestVerifierFailedCheckQueuesAgain(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	warmJob(t, s, 1, t0, "/jfs/a")
	d.fail("/jfs/a")
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	kicked := make(chan struct{}, 1)
	v.Kick = func() { kicked <- struct{}{} }
	c.Add(time.Minute)
	st := jobAnswer(t, s, v, 1)
	require.False(t, st.Warm)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State)
	es, err := s.Queue(context.Background(), false)
	require.NoError(t, err)
	require.Contains(t, es[0].Reason, "re-verification failed: "+errCheckFailed.Error())
	require.Len(t, kicked, 1)
}

// Many answers about one path share one check; checks of different paths
// run at most VerifyParallel at a time.
func TestVerifierOneCheckPerPathAndBounded(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	paths := []string{"/jfs/a", "/jfs/b", "/jfs/c", "/jfs/d", "/jfs/e"}
	for i, p := range paths {
		warmJob(t, s, uint64(10+i), t0, p)
		d.set(p, 100, 100)
	}
	d.hold = make(chan struct{})
	v := newVerifier(t, VerifyConfig{MaxAge: time.Second, Parallel: 2, Wait: time.Millisecond}, s, d, c)
	c.Add(time.Minute)
	var wg sync.WaitGroup
	for i := range paths {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := jobAnswer(t, s, v, uint64(10+i))
				require.False(t, st.Ready, "not warm while its check runs")
			}()
		}
	}
	wg.Wait()
	for _, p := range paths {
		require.True(t, v.Verifying(p), p)
	}
	es, err := s.Queue(context.Background(), true)
	require.NoError(t, err)
	v.Entries(es)
	for _, e := range es {
		require.Equal(t, api.TaskVerifying, e.State, "the listing says so too")
	}
	close(d.hold)
	require.Eventually(t, func() bool {
		for _, p := range paths {
			if v.Verifying(p) {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond)
	for _, p := range paths {
		require.Equal(t, 1, d.checksOf(p), "one check for the four answers about %s", p)
	}
	require.LessOrEqual(t, d.maxChecksAtOnce(), 2, "VerifyParallel bounds the checks at once")
	for i := range paths {
		require.True(t, jobAnswer(t, s, v, uint64(10+i)).Warm)
	}
}

// A path under a warm parent is judged by its own check, not the parent's:
// it is verifying until checked, then warm only if its own bytes are cached.
func TestVerifierCoveredPathNeedsItsOwnCheck(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	// Job 1 names /jfs/a/new while /jfs/a is queued: covered by it.
	_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/a"}, UID: 1000, Source: api.SourceManual, Now: t0})
	require.NoError(t, err)
	warmJob(t, s, 1, t0, "/jfs/a/new")
	st, err := s.JobStatus(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "/jfs/a", st.Datasets[0].Dataset, "covered by the parent while it was queued")
	require.True(t, st.Warm, "the store alone would call it warm")
	require.Nil(t, st.Datasets[0].CheckedAt)

	d.set("/jfs/a", 100, 100)
	d.set("/jfs/a/new", 100, 0) // written after the parent's warm-up listed it
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	st = jobAnswer(t, s, v, 1)
	require.False(t, st.Ready)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State)
	require.Equal(t, "/jfs/a/new", st.Datasets[0].Dataset, "the path got its own task")
	require.Equal(t, 1, d.checksOf("/jfs/a/new"))
	require.Zero(t, d.checksOf("/jfs/a"))
}

// The submit answer (what `swarmup warm` reads) joins a warm task only as
// warm when its own check is fresh; else it is checked first.
func TestVerifierSubmitItems(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	warmJob(t, s, 1, t0, "/jfs/a", "/jfs/b")
	d.set("/jfs/a", 100, 100)
	d.set("/jfs/b", 100, 50)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	c.Add(10 * time.Second)
	r, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/a", "/jfs/b"}, UID: 1000, Source: api.SourceManual, Now: c.Now()})
	require.NoError(t, err)
	require.Equal(t, api.TaskWarm, r.Items[0].State)
	require.Equal(t, api.TaskWarm, r.Items[1].State, "the store alone says warm")
	require.NoError(t, v.Items(ctx, r.Items, api.SourceManual))
	require.Equal(t, api.TaskWarm, r.Items[0].State)
	require.Equal(t, api.TaskQueued, r.Items[1].State, "b lost half its blocks: queued again")
	require.Equal(t, 1, d.checksOf("/jfs/a"))
	require.Equal(t, 1, d.checksOf("/jfs/b"))
}

// The SPANK plugin's submission at sbatch (source submit) gives warmupd
// timeout_ms (500 ms by default) and reads only the status code: its answer
// never waits for a re-check (which may take VerifyWait, 2 s), but still
// says verifying, never an unverified warm, and starts the check so the
// prolog finds the data verified.
func TestVerifierSubmitItemsOfThePluginDoNotWait(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	warmJob(t, s, 1, t0, "/jfs/a")
	d.set("/jfs/a", 100, 100)
	d.hold = make(chan struct{}) // the check takes as long as the test wants
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second, Wait: time.Hour, Timeout: time.Hour}, s, d, c)
	c.Add(10 * time.Second)
	r, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/a"}, UID: 1000, Token: "tok", Source: api.SourceSubmit, Now: c.Now()})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- v.Items(ctx, r.Items, api.SourceSubmit) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		close(d.hold)
		t.Fatal("the plugin's submit answer waited for the re-check")
	}
	require.Equal(t, api.TaskVerifying, r.Items[0].State)
	require.True(t, v.Verifying("/jfs/a"), "the check was started for the prolog")
	close(d.hold)
	require.Eventually(t, func() bool { return !v.Verifying("/jfs/a") }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, d.checksOf("/jfs/a"))
}

// The periodic refresh finding a warm dataset short follows the
// re-verification's rule (queue.Store.Short): queued again when a job still
// needs it or a person asked for it after its task ended; nobody's dataset
// becomes evicted, its cached bytes 0.
func TestRefreshRequeuesShortDatasetJobsNeed(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	warmJob(t, s, 1, t0, "/jfs/used")
	warmJob(t, s, 2, t0, "/jfs/idle")
	warmJob(t, s, 3, t0, "/jfs/asked")
	require.NoError(t, s.JobEnd(ctx, 2, queue.JobEndParams{Now: t0}))
	require.NoError(t, s.JobEnd(ctx, 3, queue.JobEndParams{Now: t0}))
	_, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/asked"}, UID: 1000, Source: api.SourceManual, Now: t0.Add(time.Minute)})
	require.NoError(t, err)
	d.set("/jfs/used", 100, 0)
	d.set("/jfs/idle", 100, 40)
	d.set("/jfs/asked", 100, 0)
	cfg := Config{RefreshInterval: time.Minute, Planner: planner.DefaultConfig()}
	cfg.Planner.WarmRatio = 0.99
	m := New(cfg, s, d, zerolog.New(zerolog.NewTestWriter(t)), c.Now)
	c.Add(time.Hour)
	for range 3 {
		require.True(t, m.refreshOne(ctx))
	}
	es, err := s.Queue(ctx, true)
	require.NoError(t, err)
	got := map[string]api.QueueEntry{}
	for _, e := range es {
		got[e.Dataset] = e
	}
	require.Equal(t, api.TaskQueued, got["/jfs/used"].State, "job 1 still needs it")
	require.Equal(t, api.TaskQueued, got["/jfs/asked"].State, "a person asked for it after job 3 ended")
	require.Equal(t, api.TaskEvicted, got["/jfs/idle"].State)
	require.Contains(t, got["/jfs/idle"].Reason, "no job or request needs it now")
	ds, err := s.Datasets(ctx)
	require.NoError(t, err)
	for _, x := range ds {
		if x.Path == "/jfs/idle" {
			require.Zero(t, x.CachedBytes, "an evicted dataset's blocks no longer count against the capacity")
		}
	}
}

// The status of a job that ended (GET /v1/jobs/{id} is open to every user)
// re-verifies its data but queues nothing when no live job or new request
// needs it: found short, the task becomes evicted, as the periodic refresh
// does, instead of a warm-up nobody waits for and nothing ever cancels.
func TestVerifierShortDataNobodyNeedsIsNotQueued(t *testing.T) {
	s, d, c := queuetest.Open(t), newDriver(), testutil.NewClock()
	ctx := context.Background()
	warmJob(t, s, 1, t0, "/jfs/a")
	require.NoError(t, s.JobEnd(ctx, 1, queue.JobEndParams{Now: t0.Add(time.Minute)}))
	d.set("/jfs/a", 100, 40)
	v := newVerifier(t, VerifyConfig{MaxAge: 5 * time.Second}, s, d, c)
	c.Add(time.Hour)
	st := jobAnswer(t, s, v, 1)
	require.False(t, st.Warm)
	require.Equal(t, api.TaskEvicted, st.Datasets[0].State)
	require.Contains(t, st.Datasets[0].Reason, "no job or request needs it now")
	require.Zero(t, st.Datasets[0].CachedBytes, "evicted as MarkEvicted does: what it held no longer counts against the capacity")
	es, err := s.Queue(ctx, false)
	require.NoError(t, err)
	require.Empty(t, es, "nothing queued")

	// A person joining warm data nobody's job needs is a request made now:
	// found short, it is queued again for them.
	warmJob(t, s, 2, c.Now(), "/jfs/b")
	require.NoError(t, s.JobEnd(ctx, 2, queue.JobEndParams{Now: c.Now()}))
	d.set("/jfs/b", 100, 0)
	c.Add(time.Hour)
	r, err := s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/b"}, UID: 1000, Source: api.SourceManual, Now: c.Now()})
	require.NoError(t, err)
	require.Equal(t, api.TaskWarm, r.Items[0].State, "the store alone says warm")
	require.NoError(t, v.Items(ctx, r.Items, api.SourceManual))
	require.Equal(t, api.TaskQueued, r.Items[0].State)
}
