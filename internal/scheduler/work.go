package scheduler

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

var (
	errLeaseLost = errors.New("lease lost (task cancelled or reclaimed)")
	errCancelled = errors.New("task cancelled")
)

// taken reports whether the task was taken away from this worker (cancelled
// or reclaimed): its result must be dropped.
func taken(ctx context.Context) bool {
	c := context.Cause(ctx)
	return errors.Is(c, errLeaseLost) || errors.Is(c, errCancelled)
}

// work runs one task to its next state.
func (s *Scheduler) work(ctx context.Context, t *queue.Task) {
	log := s.log.With().Int64("task", t.ID).Str("dataset", t.Path).Int("attempt", t.Attempts).Logger()
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.track(t.ID, cancel)()
	// The heartbeat and the progress checks end with the attempt: work
	// returns only after them, so none of their store calls comes after
	// the worker is done (and after Run returned, the store may close).
	var helpers sync.WaitGroup
	defer helpers.Wait()
	hbDone := make(chan struct{})
	defer close(hbDone)
	helpers.Add(1)
	go func() { defer helpers.Done(); s.heartbeat(t, cancel, hbDone, log) }()

	start := s.now()
	defer s.rates.forget(t.Path)
	var fetched int64
	var measured bool
	resumed, werr := s.resumeArray(tctx, t, log)
	if !resumed {
		plan := s.plan(tctx, t, log)
		log.Info().Int("shards", len(plan.Shards)).Int("files", plan.Files).Int64("bytes", plan.Bytes).Msg("warm-up started")
		if part, warm := s.warmHotFirst(tctx, t, plan, log); warm && s.restWaits(t, part) {
			s.leaveRest(tctx, t, log)
			return
		}
		fetched, measured, werr = s.warmShards(tctx, t, plan, log)
	}
	if measured {
		s.cfg.Metrics.Warmed(fetched)
		s.rates.measured(t.Path, fetched, s.now().Sub(start))
	}

	if taken(tctx) {
		log.Info().Err(context.Cause(tctx)).Msg("warm-up stopped: the task was taken away; result dropped")
		return
	}
	if ctx.Err() != nil {
		log.Info().Msg("warm-up interrupted by shutdown; the task goes back to the queue")
		return
	}
	var pe *jfs.PathError
	if errors.As(werr, &pe) {
		log.Warn().Err(werr).Msg("warm-up failed: path not usable, not retrying")
		s.finish(t, queue.Outcome{State: api.TaskFailed, Err: werr.Error()}, log)
		return
	}
	if werr != nil {
		s.retryOr(t, api.TaskFailed, nil, werr.Error(), log)
		return
	}

	chk, began, err := s.verify(tctx, []string{t.Path})
	if tctx.Err() != nil {
		return
	}
	if err != nil {
		s.retryOr(t, api.TaskFailed, nil, "check after warm-up: "+err.Error(), log)
		return
	}
	if chk.Ratio >= s.cfg.TargetRatio {
		ev := log.Info().Float64("ratio", chk.Ratio).Int64("bytes", chk.TotalBytes).Dur("took", s.now().Sub(start))
		if measured {
			ev = ev.Int64("fetched", fetched)
		}
		ev.Msg("warm")
		s.finish(t, queue.Outcome{State: api.TaskWarm, Check: queue.CheckBegun(chk, began)}, log)
		return
	}
	s.retryOr(t, api.TaskPartial, queue.CheckBegun(chk, began), fmt.Sprintf("verified %.1f%% cached, below the target %.1f%%", 100*chk.Ratio, 100*s.cfg.TargetRatio), log)
}

// retryOr asks the retry policy: the task is queued again at the time it
// says, or gets its final state once the attempts are used up.
func (s *Scheduler) retryOr(t *queue.Task, final api.TaskState, chk *queue.Check, why string, log zerolog.Logger) {
	now := s.now()
	retry, at := s.cfg.Retry.Decide(t.Attempts, now)
	reason := s.cfg.Retry.Reason(t.Attempts, retry)
	if retry {
		log.Warn().Str("why", why).Dur("retry_in", at.Sub(now)).Msg("warm-up incomplete, will retry")
		s.finish(t, queue.Outcome{State: api.TaskQueued, Check: chk, Err: why, RetryAt: at, Reason: reason}, log)
		return
	}
	log.Warn().Str("why", why).Str("state", string(final)).Msg("warm-up " + reason)
	s.finish(t, queue.Outcome{State: final, Check: chk, Err: why, Reason: reason}, log)
}

func (s *Scheduler) finish(t *queue.Task, o queue.Outcome, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.store.Finish(ctx, t.ID, s.owner, o, s.now()); err != nil {
		if errors.Is(err, queue.ErrLeaseLost) {
			log.Info().Msg("task was cancelled or reclaimed before it finished; result dropped")
			return
		}
		log.Error().Err(err).Msg("record warm-up result")
		return
	}
	s.changed(t.Path)
	fetched, took := s.rates.fetched(t.Path)
	s.cfg.Metrics.WarmupDone(o.State, fetched, took)
}

// changed tells Config.Changed that path's task changed.
func (s *Scheduler) changed(path string) {
	if s.cfg.Changed != nil {
		s.cfg.Changed(path)
	}
}

// heartbeat extends the lease every Lease/3, and once at once: a task
// cancelled between its dequeue and its worker's registration for Stop is
// noticed now, not a third of a lease later.
func (s *Scheduler) heartbeat(t *queue.Task, cancel context.CancelCauseFunc, done <-chan struct{}, log zerolog.Logger) {
	tk := time.NewTicker(s.cfg.Lease / 3)
	defer tk.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
		ctx, c := context.WithTimeout(context.Background(), s.cfg.Lease/3)
		err := s.store.Heartbeat(ctx, t.ID, s.owner, s.now(), s.cfg.Lease)
		c()
		if errors.Is(err, queue.ErrLeaseLost) {
			cancel(errLeaseLost)
			return
		}
		if err != nil {
			log.Warn().Err(err).Msg("heartbeat")
		}
	}
}

// progress records a running warm-up's progress on its dataset and in the
// speed measure the prologs' ETA comes from.
func (s *Scheduler) progress(t *queue.Task, c queue.Check, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.rates.observe(t.Path, c.CachedBytes, s.now())
	if err := s.store.Progress(ctx, t.ID, s.owner, c, s.now()); err != nil && !errors.Is(err, queue.ErrLeaseLost) {
		log.Debug().Err(err).Msg("record progress")
		return
	}
	s.changed(t.Path) // a new speed: a waiting prolog may see it cannot finish in time
}

// verify checks paths after their warm-up: juicefs warmup exits 0 even when
// blocks failed, so always verify, and re-check a short result (up to 3
// checks, Recheck apart) because the cache write is asynchronous. began is
// when the check it returns began.
func (s *Scheduler) verify(ctx context.Context, paths []string) (chk *jfs.CheckResult, began time.Time, err error) {
	for i := 0; i < 3; i++ {
		s.cfg.Metrics.Walked(metrics.WalkCheck)
		began = s.now()
		chk, err = s.driver.Check(ctx, paths)
		if (err == nil && chk.Ratio >= s.cfg.TargetRatio) || i == 2 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.cfg.Recheck):
		}
		if ctx.Err() != nil {
			return nil, began, ctx.Err()
		}
	}
	return chk, began, err
}
