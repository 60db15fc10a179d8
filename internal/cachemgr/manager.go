// Package cachemgr is warmupd's cache manager: each scheduler round it builds
// a planner.Snapshot from the store, runs the pure planner (priorities,
// eviction guard, active warm-up), and applies the decision: priorities and
// waiting reasons go to the store, evictions delete the dataset's block files
// from the shared cache directory (jfs.Driver.EvictBlocks),
// active warm-ups are submitted with source "active", and the scheduler is
// told which tasks may start. It also keeps the cache status table fresh
// with budgeted `--check` runs and serves /v1/priority and /v1/cache.
package cachemgr

import (
	"context"
	"fmt"
	"github.com/accel-data/accel-data/internal/bytesize"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Driver is the part of pkg/jfs the cache manager uses.
type Driver interface {
	Check(ctx context.Context, paths []string) (*jfs.CheckResult, error)
	// EvictBlocks deletes the paths' block files from the cache directory.
	// (`juicefs warmup --evict` is not used: it removes only blocks its own
	// mount process wrote since it was mounted, so after a remount, or for
	// blocks a compute node wrote, it silently removes nothing.)
	EvictBlocks(ctx context.Context, paths []string) (*jfs.EvictResult, error)
}

// Config tunes the cache manager.
type Config struct {
	Planner planner.Config
	// CapacityBytes is the share of the cache directory accel-data may fill
	// (0: unknown, nothing is evicted or held for space).
	CapacityBytes int64
	// CacheDir is statfs'ed for free space (display only).
	CacheDir string
	// PlanInterval is the least time between two plans while a worker slot
	// is free (default 100ms; ten times as long while every slot is busy,
	// see planGap).
	PlanInterval time.Duration
	// RefreshInterval is how often a 1 GiB dataset is re-checked; bigger
	// datasets are checked less often (default 10m; 0 keeps the default,
	// negative disables refreshes).
	RefreshInterval time.Duration
	// StatsMount is a JuiceFS mount whose .stats gives object-storage
	// traffic; ObjectStoreBandwidth (bytes/s) turns it into a load in [0,1].
	StatsMount           string
	ObjectStoreBandwidth float64
	// MaxRequestBytes is the largest dataset users may have warmed (0: no
	// limit). A queued dataset of unknown size is sized first; one found
	// larger, that neither root nor the active policy wants, ends failed
	// with queue.OversizeReason instead of being warmed.
	MaxRequestBytes int64
	// Metrics receives the evictions (nil: none).
	Metrics *metrics.Metrics
	// Changed is told each dataset whose task was evicted or found short
	// (notify.Hub.Notify: it wakes waiting prologs); nil: nobody.
	Changed func(paths ...string)
	// EventRefreshInterval is the least time between two checks of a
	// dataset that events (a miss report, the changelog) marked stale: it is
	// refreshed as soon as its last check is that old, whatever the number
	// of events (default 1m; 0 keeps the default, negative: events do not
	// trigger checks, the periodic refresh alone does).
	EventRefreshInterval time.Duration
	// Sampler checks a warm dataset in the periodic refresh (by a sample of
	// its files where it has a manifest); nil: a full --check every time.
	Sampler *Sampler
}

// Manager applies planner decisions.
type Manager struct {
	cfg    Config
	store  *queue.Store
	driver Driver
	log    zerolog.Logger
	now    func() time.Time

	// planMu serialises plans; only Plan takes it, and holds it while it
	// reads and writes the store. The state below that the endpoints and the
	// eviction and sizing goroutines share is under mu, which is never held
	// across a store call (a plan waiting on the database must not hold up
	// /v1/priority or /v1/cache).
	planMu   sync.Mutex
	took     time.Duration // how long the last plan took
	winStart time.Time
	winUsed  int64
	load     loadMeter

	mu        sync.Mutex
	last      planner.Decision
	lastAt    time.Time
	allowed   []int64
	evictions []api.CacheEviction

	// sizing: queued datasets of unknown size wait for a first --check
	// (run by Refresh) before the guard lets them start; sized holds the
	// paths whose check completed (an empty dataset stays at 0 bytes).
	sizing chan string
	// wake is poked when an event marked a dataset stale (Stale).
	wake  chan struct{}
	asked map[string]bool
	sized map[string]bool

	evicting map[int64]bool // task ids whose eviction runs now
	evictWG  sync.WaitGroup // the eviction goroutines; see Wait
}

// New builds a manager.
func New(cfg Config, store *queue.Store, driver Driver, log zerolog.Logger, now func() time.Time) *Manager {
	if cfg.PlanInterval <= 0 {
		cfg.PlanInterval = 100 * time.Millisecond
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = 10 * time.Minute
	}
	if cfg.EventRefreshInterval == 0 {
		cfg.EventRefreshInterval = DefaultEventRefreshInterval
	}
	if now == nil {
		now = time.Now
	}
	if cfg.Sampler == nil {
		cfg.Sampler = NewSampler("", cfg.Planner.WarmRatio, driver, log, 0)
	}
	return &Manager{cfg: cfg, store: store, driver: driver, log: log, now: now,
		sizing: make(chan string, 1024), wake: make(chan struct{}, 1), asked: map[string]bool{}, sized: map[string]bool{},
		evicting: map[int64]bool{}}
}

// Plan is the scheduler's hook: it plans (at most once per planGap) and
// returns the ids of the tasks that may start now. When it skipped
// planning, again says how soon a new plan may run.
func (m *Manager) Plan(ctx context.Context, freeSlots int) (allowed []int64, again time.Duration) {
	m.planMu.Lock()
	defer m.planMu.Unlock()
	now := m.now()
	m.mu.Lock()
	lastAt, allowed := m.lastAt, m.allowed
	m.mu.Unlock()
	if wait := m.planGap(freeSlots) - now.Sub(lastAt); !lastAt.IsZero() && wait > 0 {
		return allowed, wait
	}
	start := time.Now()
	if err := m.plan(ctx, now, freeSlots); err != nil && !queue.IsDamaged(err) { // the store logs damage itself, once
		m.log.Warn().Err(err).Msg("plan")
	}
	m.took = time.Since(start)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastAt = now
	return m.allowed, 0
}

// busyPlanFactor is how much longer the planner waits between two plans
// while every worker slot is busy (see planGap).
const busyPlanFactor = 10

// planGap is the least time between two plans. While a worker slot is free
// a plan may start a warm-up, so it follows PlanInterval, stretched so that
// planning takes at most a fifth of the time on a huge store. While every
// slot is busy a plan can start nothing (nor evict to make room for a
// start): it re-ranks the queue (the priorities and wait reasons swarmup
// shows), so it runs busyPlanFactor times less often and takes at most a
// twentieth of the time. With --workers 0 that is every plan. On a 2-core
// service node under a burst of submissions with 100 000 datasets, planning
// at the free-slot pace took 0.1 core from the requests
// (docs/performance-submit.md). A slot coming free kicks the scheduler, and
// that plan waits only for the free-slot gap.
func (m *Manager) planGap(freeSlots int) time.Duration {
	if freeSlots > 0 {
		return max(m.cfg.PlanInterval, 5*m.took)
	}
	return max(busyPlanFactor*m.cfg.PlanInterval, 20*m.took)
}

// Wait waits for the evictions in flight (they end soon once the context
// given to Plan is done). Call it after the last Plan, before the store
// closes.
func (m *Manager) Wait() { m.evictWG.Wait() }

func (m *Manager) plan(ctx context.Context, now time.Time, freeSlots int) error {
	if m.cfg.MaxRequestBytes > 0 {
		refused, err := m.store.RefuseOversized(ctx, m.cfg.MaxRequestBytes, now)
		if err != nil {
			return err
		}
		for _, r := range refused {
			m.log.Warn().Str("dataset", r.Path).Int64("bytes", r.Bytes).Int64("task", r.TaskID).
				Msg("refused a user's warm-up larger than MaxRequestBytes")
		}
	}
	all, err := m.store.PlanDatasets(ctx, now)
	if err != nil {
		return err
	}
	// Datasets being evicted count as gone: their space is on its way, and
	// a request that revived one meanwhile starts after the eviction ends.
	ds := all[:0]
	m.mu.Lock()
	for _, d := range all {
		if !m.evicting[d.ID] {
			ds = append(ds, d)
		}
	}
	m.mu.Unlock()
	var used int64
	for _, d := range ds {
		used += d.CachedBytes
	}
	if ws, ok := planner.WindowStart(m.cfg.Planner.ActiveWindows, now); ok {
		if !ws.Equal(m.winStart) {
			m.winStart, m.winUsed = ws, 0
		}
	}
	snap := planner.Snapshot{
		Datasets:        ds,
		CapacityBytes:   m.cfg.CapacityBytes,
		UsedBytes:       used,
		FreeSlots:       freeSlots,
		ObjectStoreLoad: m.load.sample(m.cfg.StatsMount, m.cfg.ObjectStoreBandwidth, now),
		ActiveBytesUsed: m.winUsed,
	}
	d := planner.Plan(snap, m.cfg.Planner, now)
	if m.cfg.CapacityBytes > 0 || m.cfg.MaxRequestBytes > 0 {
		m.mu.Lock()
		m.holdUnsized(&d, ds)
		m.mu.Unlock()
	}

	prio, waits := d.Changes(ds)
	if err := m.store.ApplyPlan(ctx, prio, waits, now); err != nil {
		return err
	}
	m.mu.Lock()
	for _, e := range d.Evictions {
		m.evicting[e.ID] = true
		m.evictWG.Add(1)
		go func() {
			defer m.evictWG.Done()
			m.evict(ctx, e, now)
		}()
	}
	m.mu.Unlock()
	allowed := append([]int64{}, d.MarkWarm...)
	for _, s := range d.Starts {
		allowed = append(allowed, s.ID)
	}
	for _, a := range d.Active {
		r, err := m.store.Submit(ctx, queue.SubmitParams{Paths: []string{a.Path}, UID: 0, GID: 0, Source: api.SourceActive, Now: now})
		if err != nil {
			m.log.Warn().Err(err).Str("dataset", a.Path).Msg("active warm-up not queued")
			continue
		}
		m.winUsed += a.Bytes
		for _, it := range r.Items {
			allowed = append(allowed, it.TaskID)
		}
		m.log.Info().Str("dataset", a.Path).Int64("bytes", a.Bytes).Str("why", d.ActiveReason).Msg("active warm-up queued")
	}
	m.mu.Lock()
	m.last, m.allowed = d, allowed
	m.mu.Unlock()
	return nil
}

// holdUnsized keeps a queued dataset whose size is not known yet from
// starting (the guard cannot tell whether it fits, nor whether it is within
// MaxRequestBytes) and asks Refresh to size it with a --check first. m.mu
// is held.
func (m *Manager) holdUnsized(d *planner.Decision, ds []planner.Dataset) {
	unsized := map[int64]bool{}
	for _, x := range ds {
		if x.State == api.TaskQueued && x.Bytes <= 0 && !m.sized[x.Path] {
			unsized[x.ID] = true
			if !m.asked[x.Path] {
				select {
				case m.sizing <- x.Path:
					m.asked[x.Path] = true
				default: // Refresh is busy; ask again next round
				}
			}
		}
	}
	if len(unsized) == 0 {
		return
	}
	starts := d.Starts[:0]
	for _, st := range d.Starts {
		if unsized[st.ID] {
			d.Waits = append(d.Waits, planner.Wait{ID: st.ID, Path: st.Path, Reason: "waiting for its size: a first juicefs warmup --check runs before the cache guard (and MaxRequestBytes) lets it start"})
			continue
		}
		starts = append(starts, st)
	}
	d.Starts = starts
}

// evict removes a dataset's blocks from the shared cache, outside the
// plan (deleting a big dataset's blocks takes a while). The task is
// marked evicted first, so a job asking for the dataset meanwhile revives it
// instead of trusting blocks that are going away.
func (m *Manager) evict(ctx context.Context, e planner.Eviction, now time.Time) {
	defer func() {
		m.mu.Lock()
		delete(m.evicting, e.ID)
		m.mu.Unlock()
	}()
	if err := m.store.MarkEvicted(ctx, e.ID, e.Reason, now); err != nil {
		m.log.Error().Err(err).Str("dataset", e.Path).Msg("record eviction; not evicting")
		return
	}
	m.cfg.Metrics.Evicted(evictReason(e), e.Bytes)
	m.changed(e.Path)
	ectx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	res, err := m.driver.EvictBlocks(ectx, []string{e.Path})
	if err != nil {
		m.log.Error().Err(err).Str("dataset", e.Path).Msg("eviction failed; the next check records what is left")
	}
	// Verify: what --check finds now is what the store records.
	began := m.now()
	r, cerr := m.driver.Check(ectx, []string{e.Path})
	if cerr == nil {
		_ = m.store.RecordCheck(ctx, e.Path, *queue.CheckBegun(r, began), m.now())
	}
	ev, msg := m.log.Info(), "evicted"
	if r != nil && r.Ratio > 0.01 {
		ev, msg = m.log.Warn(), "evicted, but --check still finds blocks of it (are the cache directories in .config right?)"
	}
	if res != nil {
		ev = ev.Int64("block_files", res.Blocks).Int64("freed", res.Bytes)
	}
	if r != nil {
		ev = ev.Float64("left", r.Ratio)
	}
	ev.Str("dataset", e.Path).Int64("bytes", e.Bytes).Str("why", e.Reason).Msg(msg)
	m.mu.Lock()
	m.evictions = append(m.evictions, api.CacheEviction{Dataset: e.Path, Bytes: e.Bytes, Reason: e.Reason, At: now})
	if len(m.evictions) > 50 {
		m.evictions = m.evictions[len(m.evictions)-50:]
	}
	m.mu.Unlock()
}

// changed tells Config.Changed that path's task changed.
func (m *Manager) changed(path string) {
	if m.cfg.Changed != nil {
		m.cfg.Changed(path)
	}
}

// evictReason is the metrics' reason label of a planner eviction.
func evictReason(e planner.Eviction) string {
	if e.Active {
		return metrics.EvictActive
	}
	return metrics.EvictRoom
}

// loadMeter turns the GET byte counter of a mount's .stats into a load.
type loadMeter struct {
	bytes float64
	at    time.Time
	load  float64
}

func (l *loadMeter) sample(mount string, bandwidth float64, now time.Time) float64 {
	if mount == "" || bandwidth <= 0 {
		return 0
	}
	st, err := jfs.ReadStats(mount)
	if err != nil {
		return l.load
	}
	b := st["juicefs_object_request_data_bytes_GET"]
	if !l.at.IsZero() && now.After(l.at) && b >= l.bytes {
		l.load = (b - l.bytes) / now.Sub(l.at).Seconds() / bandwidth
	}
	l.bytes, l.at = b, now
	return l.load
}

// String describes the manager's settings for the start-up log.
func (m *Manager) String() string {
	return fmt.Sprintf("capacity=%s windows=%v", bytesize.Format(m.cfg.CapacityBytes), m.cfg.Planner.ActiveWindows)
}
