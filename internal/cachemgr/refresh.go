package cachemgr

import (
	"context"
	"math"
	"time"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Refresh keeps the cache status table fresh: one `juicefs warmup --check`
// at a time, outside the warm-up workers (a check never blocks the queue),
// for the dataset most overdue. A dataset of size S is due every
// RefreshInterval × (1 + log2(S / 1 GiB)), so big datasets are checked less
// often (a negative RefreshInterval turns this off). Before that, it sizes
// queued datasets of unknown size for the cache guard. A warm dataset found
// below the target ratio (the cache dropped blocks) is queued again when a job
// that has not ended needs it, else it becomes evicted, so the next request
// warms it again.
func (m *Manager) Refresh(ctx context.Context) {
	for {
		select {
		case p := <-m.sizing:
			m.size(ctx, p)
			continue
		default:
		}
		if !m.refreshOne(ctx) {
			select {
			case <-ctx.Done():
				return
			case p := <-m.sizing:
				m.size(ctx, p)
			case <-m.wake:
			case <-time.After(5 * time.Second):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second): // budget: at most one check per second
		}
	}
}

// size runs the first --check of a queued dataset so the guard knows its size.
func (m *Manager) size(ctx context.Context, path string) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	began := m.now()
	r, err := m.driver.Check(cctx, []string{path})
	cancel()
	m.mu.Lock()
	delete(m.asked, path)
	if err == nil {
		m.sized[path] = true
	}
	m.mu.Unlock()
	if err != nil {
		m.log.Warn().Err(err).Str("dataset", path).Msg("size check failed; the warm-up will report the problem")
		m.mu.Lock()
		m.sized[path] = true // let the worker run it and record the error
		m.mu.Unlock()
		return
	}
	if err := m.store.RecordCheck(ctx, path, *queue.CheckBegun(r, began), m.now()); err != nil {
		m.log.Warn().Err(err).Str("dataset", path).Msg("record size")
	}
	m.log.Debug().Str("dataset", path).Int64("bytes", r.TotalBytes).Msg("sized")
}

// CheckDue is how long a dataset of the given size may go unchecked.
func CheckDue(base time.Duration, bytes int64) time.Duration {
	f := 1.0
	if gib := float64(bytes) / (1 << 30); gib > 1 {
		f += math.Log2(gib)
	}
	return time.Duration(float64(base) * f)
}

// DefaultEventRefreshInterval is Config.EventRefreshInterval's default.
const DefaultEventRefreshInterval = time.Minute

// Stale is told the datasets an event just marked stale in the store (a miss
// report: queue.Store.RecordAccess; the changelog: Changelog). It wakes
// Refresh, which checks them before any periodic check (refreshOne decides
// when: at most once per EventRefreshInterval per dataset).
func (m *Manager) Stale(paths ...string) {
	if len(paths) == 0 {
		return
	}
	select {
	case m.wake <- struct{}{}:
	default: // already poked
	}
}

// EventDue reports whether a dataset that an event marked stale may be
// checked now: its last check is at least EventRefreshInterval old (so a
// storm of events costs one check per dataset per interval); never when
// event-driven checks are off.
func (m *Manager) EventDue(c queue.CheckCandidate, now time.Time) bool {
	if m.cfg.EventRefreshInterval < 0 || c.StaleAt.IsZero() {
		return false
	}
	return c.CheckedAt.IsZero() || now.Sub(c.CheckedAt) >= m.cfg.EventRefreshInterval
}

// refreshOne checks the dataset most in need: first one an event marked
// stale (EventDue), else the most overdue by CheckDue; false when none is
// due. Either check samples the dataset where it has a manifest and walks it
// again only when the sample says it changed (Sampler.Check).
func (m *Manager) refreshOne(ctx context.Context) bool {
	now := m.now()
	if m.cfg.EventRefreshInterval >= 0 {
		stale, err := m.store.StaleCandidates(ctx, 64)
		if err != nil && !queue.IsDamaged(err) { // the store logs damage itself, once
			m.log.Warn().Err(err).Msg("refresh: list stale datasets")
		}
		for _, c := range stale {
			if m.EventDue(c, now) {
				m.refresh(ctx, c)
				return true
			}
		}
	}
	if m.cfg.RefreshInterval < 0 {
		return false // periodic refresh off; sizing still runs
	}
	cands, err := m.store.CheckCandidates(ctx, 64)
	if err != nil {
		if !queue.IsDamaged(err) { // the store logs damage itself, once
			m.log.Warn().Err(err).Msg("refresh: list datasets")
		}
		return false
	}
	for _, c := range cands {
		if !c.CheckedAt.IsZero() && now.Sub(c.CheckedAt) < CheckDue(m.cfg.RefreshInterval, c.Bytes) {
			continue
		}
		m.refresh(ctx, c)
		return true
	}
	return false
}

// refresh checks one dataset and records what it found.
func (m *Manager) refresh(ctx context.Context, c queue.CheckCandidate) {
	started := m.now()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	chk, verdict, err := m.cfg.Sampler.CheckAfter(cctx, c.Path, c.StaleReason)
	cancel()
	if err != nil {
		m.log.Debug().Err(err).Str("dataset", c.Path).Msg("refresh check")
		// Record the attempt so one broken path does not starve the rest. It
		// measured nothing, so it clears no stale mark, whether the mark came
		// before the check or during it (Started before any event; checked
		// again after EventRefreshInterval).
		keep := queue.Check{Bytes: c.Bytes, CachedBytes: c.CachedBytes, Ratio: ratio(c.CachedBytes, c.Bytes), Started: time.Unix(0, 1)}
		_ = m.store.RecordCheck(ctx, c.Path, keep, m.now())
		return
	}
	chk.Started = started
	if err := m.store.RecordCheck(ctx, c.Path, chk, m.now()); err != nil {
		m.log.Warn().Err(err).Str("dataset", c.Path).Msg("record check")
	}
	if !c.StaleAt.IsZero() {
		m.log.Info().Str("dataset", c.Path).Str("event", c.StaleReason.Label()).Float64("ratio", chk.Ratio).
			Str("how", string(chk.Method)).Bool("short", verdict == Short).Msg("checked a dataset an event marked stale")
	}
	if c.State == api.TaskWarm && verdict == Short {
		m.lostBlocks(ctx, c, chk.Ratio)
	}
}

// lostBlocks handles a warm dataset a periodic check found short, the way a
// re-verification does (queue.Store.Short, the one rule): a job that has not
// ended or a request made since needs it, so it is queued again (its links
// kept); nobody needs it, so it is marked evicted and the next request warms
// it.
func (m *Manager) lostBlocks(ctx context.Context, c queue.CheckCandidate, found float64) {
	log := m.log.With().Str("dataset", c.Path).Float64("ratio", found).Logger()
	why := "a periodic check found it below the warm ratio (the cache dropped blocks)"
	_, queued, err := m.store.Short(ctx, c.Path, why, m.now())
	m.changed(c.Path)
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("refresh: a warm dataset lost blocks")
	case queued:
		log.Info().Msg("warm dataset lost blocks; jobs need it, queued again")
	default:
		m.cfg.Metrics.Evicted(metrics.EvictLost, 0)
		log.Info().Msg("warm dataset lost blocks; marked evicted")
	}
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
