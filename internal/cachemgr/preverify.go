package cachemgr

import (
	"context"
	"time"
)

// Pre-verification keeps the warm data of jobs about to start verified
// ahead of their prolog, so that a prolog on truly warm data finds its last
// check within MaxAge and answers from the store at once (the fast path)
// instead of waiting for a re-check. It is the Verifier's, the one owner of
// "warm now"; its bounds:
//
//   - which: paths linked to warm tasks by jobs in state submitted whose
//     expected start (squeue) is within Horizon, or unknown; soonest first,
//     the first 8 × Parallel of them (32 by default): the load stays bounded
//     however many jobs are pending.
//   - how often: a path is checked again once its last check is older than
//     MaxAge/2; rounds run every MaxAge/4 and whenever a pre-check ends, so
//     a pre-verified path's check is not older than MaxAge while its job
//     waits, as long as the checks keep up (see the budget).
//   - how many: at most half of Parallel (at least 1) pre-checks at once,
//     sharing the Parallel slots, so the checks answers wait for keep a slot.
//   - which not: a path whose last check by this warmupd took longer than
//     MaxAge/5 (1 s by default) is skipped: keeping it fresh would re-read
//     its cache continuously, and its prolog checks it itself (within
//     PrologWait) as before.

// preVerifyEvery is the period of the pre-verification rounds.
func (v *Verifier) preVerifyEvery() time.Duration { return v.cfg.MaxAge / 4 }

// slowCheck is how long a path's last check may have taken for the
// pre-verification to keep it fresh.
func (v *Verifier) slowCheck() time.Duration { return v.cfg.MaxAge / 5 }

// preSlots is the most pre-checks at once.
func (v *Verifier) preSlots() int { return max(1, v.cfg.Parallel/2) }

// preKept is how many paths (the soonest) pre-verification keeps fresh.
func (v *Verifier) preKept() int { return 8 * v.cfg.Parallel }

// PreVerify runs pre-verification rounds until ctx ends or the verifier is
// closed.
func (v *Verifier) PreVerify(ctx context.Context) {
	t := time.NewTicker(v.preVerifyEvery())
	defer t.Stop()
	for {
		v.preVerifyOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-v.ctx.Done():
			return
		case <-t.C:
		case <-v.preDone: // a slot is free: start the next one now
		}
	}
}

// preVerifyOnce runs one round at v.now(): it starts the re-checks of the
// upcoming jobs' data that the budget allows and returns their paths.
func (v *Verifier) preVerifyOnce(ctx context.Context) []string {
	if v.ctx.Err() != nil {
		return nil // closed
	}
	now := v.now()
	v.mu.Lock()
	for p := range v.pre {
		if v.inflight[p] == nil {
			delete(v.pre, p)
		}
	}
	free := v.preSlots() - len(v.pre)
	slow := len(v.took)
	v.mu.Unlock()
	if free <= 0 {
		return nil
	}
	ups, err := v.store.Upcoming(ctx, now.Add(v.cfg.Horizon), v.preKept()+slow)
	if err != nil {
		v.log.Warn().Err(err).Msg("pre-verification: list the data of jobs about to start")
		return nil
	}
	var started []string
	v.mu.Lock()
	defer v.mu.Unlock()
	kept := 0
	for _, u := range ups {
		if len(started) == free || kept == v.preKept() {
			break
		}
		if d := v.took[u.Path]; d > v.slowCheck() {
			v.log.Debug().Str("dataset", u.Path).Dur("last_check_took", d).Msg("pre-verification skips it: its check is slow; its prolog re-checks it")
			continue
		}
		kept++
		if v.inflight[u.Path] != nil || now.Sub(u.CheckedAt) <= v.cfg.MaxAge/2 {
			continue // being checked, or fresh enough
		}
		v.pre[u.Path] = true
		ch := v.startLocked(u.Path)
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			<-ch
			select {
			case v.preDone <- struct{}{}:
			default:
			}
		}()
		started = append(started, u.Path)
	}
	return started
}
