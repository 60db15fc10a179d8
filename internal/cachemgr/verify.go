package cachemgr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Checker is the part of pkg/jfs the verifier uses.
type Checker interface {
	Check(ctx context.Context, paths []string) (*jfs.CheckResult, error)
}

// VerifyConfig bounds what warmupd may call warm.
type VerifyConfig struct {
	// MaxAge is how old the last `--check` of a path may be for warmupd to
	// call it warm (VerifyMaxAge, default 5s). An older one is re-verified.
	MaxAge time.Duration
	// Timeout bounds one re-verification `--check` (VerifyTimeout, default
	// 30s); one that does not finish in time queues the path again.
	Timeout time.Duration
	// Parallel is the most re-verifications run at once (VerifyParallel,
	// default 4); more wait for a slot.
	Parallel int
	// Wait is how long an API answer waits for the re-verifications it
	// started before it says "verifying" (default 2s, at most Timeout).
	Wait time.Duration
	// TargetRatio is the cached fraction that counts as warm.
	TargetRatio float64
	// Horizon: the warm data of jobs expected to start within it (or at an
	// unknown time) is kept verified ahead of their prolog (PreVerify;
	// default 2m).
	Horizon time.Duration
	// Metrics receives the results of re-verifications (nil: none).
	Metrics *metrics.Metrics
	// Sampler checks a path (by a sample of its files where it has a
	// manifest); nil: a full --check every time.
	Sampler *Sampler
}

// Verifier is the one owner of "is it warm now?": the job start and status
// answers, the submit answer and the queue listing all ask it. A warm task
// is reported warm only while the last `juicefs warmup --check` of the path
// itself finished at most MaxAge ago and found the target ratio; otherwise
// the answer is TaskVerifying and one bounded `--check` of that path runs
// (one per path at a time, Parallel at most). A check that finds the path
// short, fails, or does not finish within Timeout queues it again for the
// jobs and requests that need it (queue.Store.Short; with none, e.g. the
// status of a job that ended, it is marked evicted); one that finds it warm is recorded,
// and the next answer says warm. PreVerify keeps the data of jobs about to
// start verified ahead of their prolog (see preverify.go), so that truly
// warm data takes the fast path.
type Verifier struct {
	// Kick, when set (before the first answer), wakes the scheduler after a
	// path was queued again.
	Kick func()
	// Changed, when set (before the first answer), is told each path whose
	// re-verification ended (notify.Hub.Notify: it wakes waiting prologs).
	Changed func(paths ...string)

	cfg    VerifyConfig
	store  *queue.Store
	driver Checker
	log    zerolog.Logger
	now    func() time.Time

	ctx    context.Context // the verifier's lifetime; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}

	mu       sync.Mutex
	inflight map[string]chan struct{} // closed when the path's check is recorded
	took     map[string]time.Duration // paths whose last check was slow, and how long it took
	pre      map[string]bool          // pre-verifications started, maybe still running
	preDone  chan struct{}            // a pre-verification ended
}

// NewVerifier builds a verifier; Close stops its checks.
func NewVerifier(cfg VerifyConfig, store *queue.Store, driver Checker, log zerolog.Logger, now func() time.Time) *Verifier {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 2 * time.Second
	}
	cfg.Wait = min(cfg.Wait, cfg.Timeout)
	if cfg.TargetRatio <= 0 {
		cfg.TargetRatio = 0.99
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 2 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	if cfg.Sampler == nil {
		cfg.Sampler = NewSampler("", cfg.TargetRatio, driver, log, 0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Verifier{cfg: cfg, store: store, driver: driver, log: log, now: now, ctx: ctx, cancel: cancel,
		sem: make(chan struct{}, cfg.Parallel), inflight: map[string]chan struct{}{},
		took: map[string]time.Duration{}, pre: map[string]bool{}, preDone: make(chan struct{}, 1)}
}

// Close stops the running checks and waits for them.
func (v *Verifier) Close() {
	v.cancel()
	v.wg.Wait()
}

// Fresh reports whether a last check lets warmupd call its path warm now:
// it finished at most MaxAge ago, found at least the target ratio, and no
// event since (a miss report, the changelog) marked the path stale.
func (v *Verifier) Fresh(c queue.LastCheck) bool {
	return !c.CheckedAt.IsZero() && c.Stale == "" && v.now().Sub(c.CheckedAt) <= v.cfg.MaxAge && c.Ratio >= v.cfg.TargetRatio
}

// judge returns the state to report for a path whose task is in state st and
// whose own last check is c. For a warm task that is not Fresh it starts (or
// joins) a re-verification of path and returns TaskVerifying with a channel
// closed when that check is done.
//
// asked, when not zero, is when the answer began, before it waited for the
// checks it started: a check that finished since found the data as it is
// for this answer, however small MaxAge (1 ms in tests) against the time
// the answer took to read it back.
func (v *Verifier) judge(path string, st api.TaskState, c queue.LastCheck, asked time.Time) (api.TaskState, <-chan struct{}) {
	if st != api.TaskWarm || v.Fresh(c) || (!asked.IsZero() && !c.CheckedAt.Before(asked) && c.Stale == "" && c.Ratio >= v.cfg.TargetRatio) {
		return st, nil
	}
	return api.TaskVerifying, v.start(path)
}

// Verifying reports whether a re-verification of path runs (or waits for a slot).
func (v *Verifier) Verifying(path string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.inflight[path] != nil
}

// start runs a re-verification of path unless one already runs, and returns
// the channel closed when it is done.
func (v *Verifier) start(path string) <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.startLocked(path)
}

// startLocked is start with v.mu held.
func (v *Verifier) startLocked(path string) <-chan struct{} {
	if ch := v.inflight[path]; ch != nil {
		return ch
	}
	ch := make(chan struct{})
	v.inflight[path] = ch
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		v.verify(path)
		v.mu.Lock()
		delete(v.inflight, path)
		v.mu.Unlock()
		close(ch)
		if v.Changed != nil {
			v.Changed(path)
		}
	}()
	return ch
}

// verify runs one bounded `--check` of path and records what it found.
func (v *Verifier) verify(path string) {
	select {
	case v.sem <- struct{}{}:
		defer func() { <-v.sem }()
	case <-v.ctx.Done():
		return
	}
	log := v.log.With().Str("dataset", path).Logger()
	ctx, cancel := context.WithTimeout(v.ctx, v.cfg.Timeout)
	start := v.now()
	chk, verdict, err := v.cfg.Sampler.CheckAfter(ctx, path, v.staleEvent(ctx, path))
	timedOut := err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	v.mu.Lock()
	if took := v.now().Sub(start); took > v.slowCheck() {
		v.took[path] = took
	} else {
		delete(v.took, path)
	}
	v.mu.Unlock()
	if v.ctx.Err() != nil {
		return // shutting down: nothing was learnt
	}
	// The store's own calls get a short bound of their own.
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	var why string
	result := metrics.VerifyShort
	defer func() { v.cfg.Metrics.Verified(result) }()
	switch {
	case timedOut:
		result = metrics.VerifyTimeout
		why = fmt.Sprintf("re-verification (`juicefs warmup --check`) did not finish within VerifyTimeout %s; warming again", v.cfg.Timeout)
	case err != nil:
		result = metrics.VerifyError
		why = "re-verification failed: " + err.Error()
	default:
		if verdict == Warm {
			result = metrics.VerifyWarm
		}
		chk.Started = start // an event during the check is kept
		if err := v.store.RecordCheck(sctx, path, chk, v.now()); err != nil {
			log.Warn().Err(err).Msg("record re-verification")
			return
		}
		if result == metrics.VerifyWarm {
			log.Debug().Float64("ratio", chk.Ratio).Dur("took", v.now().Sub(start)).Msg("re-verified warm")
			return
		}
		why = fmt.Sprintf("re-verification found %d of %d bytes cached%s, below the target %.4g%% (blocks were evicted, or data is new); warming again",
			chk.CachedBytes, chk.Bytes, sampledNote(chk), 100*v.cfg.TargetRatio)
	}
	id, queued, err := v.store.Short(sctx, path, why, v.now())
	if err != nil {
		log.Warn().Err(err).Msg("queue again after re-verification")
		return
	}
	if !queued {
		v.cfg.Metrics.Evicted(metrics.EvictLost, 0)
		log.Info().Int64("task", id).Str("why", why).Msg("not warm any more; no job or request needs it now, marked evicted")
		return
	}
	log.Info().Int64("task", id).Str("why", why).Msg("not warm any more; queued again")
	if v.Kick != nil {
		v.Kick()
	}
}

// staleEvent is the event that marked path stale ("" for none), which
// decides how it is checked (Sampler.CheckAfter); a changelog event when the
// store cannot tell: a walk is never wrong.
func (v *Verifier) staleEvent(ctx context.Context, path string) api.StaleReason {
	last, err := v.store.LastChecks(ctx, []string{path})
	if err != nil {
		return api.StaleChangelog
	}
	return last[path].Stale
}

// sampledNote says how a sampled check was sized ("" for a walked one).
func sampledNote(c queue.Check) string {
	if c.Method != api.RatioSampled {
		return ""
	}
	return fmt.Sprintf(" (sampled %d files, ±%.2g%% at 99%%)", c.Sample, 100*c.Bound)
}

// wait waits for the channels, at most Wait (or until ctx ends); it reports
// whether all were closed.
func (v *Verifier) wait(ctx context.Context, chs []<-chan struct{}) bool {
	if len(chs) == 0 {
		return true
	}
	t := time.NewTimer(v.cfg.Wait)
	defer t.Stop()
	for _, ch := range chs {
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// judgeJob reports each warm dataset of st as verifying unless its own last
// check is Fresh, and sets Ready and Warm; it returns the checks it waits on.
func (v *Verifier) judgeJob(st *api.JobStatus, asked time.Time) []<-chan struct{} {
	var chs []<-chan struct{}
	for i := range st.Datasets {
		d := &st.Datasets[i]
		var c queue.LastCheck
		if d.CheckedAt != nil {
			c = queue.LastCheck{CheckedAt: *d.CheckedAt, Ratio: d.CachedRatio, Stale: d.Stale}
		}
		var ch <-chan struct{}
		if d.State, ch = v.judge(d.Path, d.State, c, asked); ch != nil {
			chs = append(chs, ch)
		}
	}
	st.Summarize()
	return chs
}

// Job answers a job start or status: st as read from the store, judged. When
// re-verifications had to start, it waits for them (at most Wait) and reads
// the status again with reload.
func (v *Verifier) Job(ctx context.Context, st *api.JobStatus, reload func(context.Context) (*api.JobStatus, error)) (*api.JobStatus, error) {
	asked := v.now()
	chs := v.judgeJob(st, time.Time{})
	if len(chs) == 0 || !v.wait(ctx, chs) {
		return st, nil
	}
	st2, err := reload(ctx)
	if err != nil {
		return nil, err
	}
	v.judgeJob(st2, asked)
	return st2, nil
}

// Items judges the items of a submit answer the same way: a path joined to a
// warm task is warm only when its own check is Fresh; else a re-verification
// runs and, when it does not end within Wait, the item says verifying. Only
// a person's request (src manual: `swarmup warm`, which shows the state)
// waits for it; the SPANK plugin's submission (src submit) has a budget of
// its own (timeout_ms, 500 ms) and reads only the status code, so its items
// say verifying at once while the check runs for the job's prolog.
func (v *Verifier) Items(ctx context.Context, items []api.SubmitItem, src api.Source) error {
	var paths []string
	for _, it := range items {
		if it.State == api.TaskWarm {
			paths = append(paths, it.Path)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	asked := v.now()
	judgeAll := func(asked time.Time) ([]<-chan struct{}, error) {
		lc, err := v.store.LastChecks(ctx, paths)
		if err != nil {
			return nil, err
		}
		var chs []<-chan struct{}
		for i := range items {
			it := &items[i]
			if it.State != api.TaskWarm && it.State != api.TaskVerifying {
				continue
			}
			c := lc[it.Path]
			st := api.TaskWarm
			if c.State != "" && it.Dataset == it.Path {
				st = c.State // the task may have been queued again meanwhile
			}
			var ch <-chan struct{}
			if it.State, ch = v.judge(it.Path, st, c, asked); ch != nil {
				chs = append(chs, ch)
			}
		}
		return chs, nil
	}
	chs, err := judgeAll(time.Time{})
	if err != nil || len(chs) == 0 || src != api.SourceManual || !v.wait(ctx, chs) {
		return err
	}
	_, err = judgeAll(asked)
	return err
}

// Entries marks the warm entries of a queue listing whose re-verification
// runs as verifying (it starts none: a listing may hold every task).
func (v *Verifier) Entries(es []api.QueueEntry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.inflight) == 0 {
		return
	}
	for i := range es {
		if es[i].State == api.TaskWarm && v.inflight[es[i].Dataset] != nil {
			es[i].State = api.TaskVerifying
		}
	}
}
