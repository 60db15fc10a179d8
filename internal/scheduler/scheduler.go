// Package scheduler runs warmupd's warm-up work: it takes tasks from the
// queue in priority order under a lease, drives `juicefs warmup` for each,
// verifies the result with `juicefs warmup --check`, and decides the next
// state (warm, retry, partial, failed). A warm-up walks its dataset once to
// cut it into shards (pkg/shard), runs `juicefs warmup -f SHARD` for each,
// and reports progress from shards done and the mount's .stats counters,
// not from repeated checks. The clock and the JuiceFS driver are injected.
package scheduler

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/retry"
	"github.com/accel-data/accel-data/internal/shardjob"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Driver is the part of pkg/jfs the scheduler uses.
type Driver interface {
	Warmup(ctx context.Context, paths []string) (*jfs.Summary, error)
	Check(ctx context.Context, paths []string) (*jfs.CheckResult, error)
}

// Config tunes the scheduler. Zero values get the defaults below.
type Config struct {
	Workers       int           // concurrent warm-ups; 0 pauses warming (the API still queues)
	Lease         time.Duration // lease on a warming task (default 30s); heartbeat every Lease/3
	TargetRatio   float64       // cached ratio that counts as warm (default 0.99)
	Retry         retry.Policy  // attempts before partial/failed and the backoff between them (the one owner of that decision)
	CheckInterval time.Duration // progress period while warming: .stats read, no walk (default 5s)
	ShardBytes    int64         // bound on a shard's bytes (0: shard.DefaultBytes)
	Mounts        []string      // the JuiceFS mounts; a warm-up reads the .stats of the one holding its dataset
	// Slurm, when enabled for a dataset's size, runs its shards as a Slurm
	// job array on compute nodes (nil: always on this node).
	Slurm   *shardjob.Config
	Recheck time.Duration // wait before re-checking a result below target (default 2s; the cache write is asynchronous)
	Tick    time.Duration // how often to look for work without a kick (default 1s)
	// Plan, when set, runs before each dequeue round (the cache manager's
	// planner): it refreshes priorities and returns the ids of the queued
	// tasks that may start now; other queued tasks wait. Tasks whose lease
	// expired (crash recovery) are always taken up. A Plan that skipped
	// planning (rate-limited) returns how soon to ask again, so work that
	// just arrived waits that long, not a whole Tick.
	Plan func(ctx context.Context, freeSlots int) (allowed []int64, again time.Duration)
	// Metrics receives bytes warmed and warm-up results (nil: none).
	Metrics *metrics.Metrics
	// Narrow, when set, returns the paths under a dataset that jobs read
	// (from the access history, busiest first) and what they are, for the
	// task's reason ("3 of 40 subdirectories, 38 % of bytes" gives
	// "narrowed: 3 of 40 …"): a warm-up of the dataset warms them first,
	// then the whole dataset (narrow.go). Nil or no paths: ReleaseAt, else
	// the whole dataset at once.
	Narrow func(ctx context.Context, dataset string) (paths []string, detail string)
	// ReleaseAt, in (0, 1), warms first the first ReleaseAt of a dataset's
	// bytes, its files in directory order, and makes the jobs waiting for
	// it ready once that part is verified warm (releaseat.go); 0 is off.
	// Narrow wins when it names paths.
	ReleaseAt float64
	// NarrowRestIdle (NarrowRest=idle): once the part Narrow named is
	// verified warm, the task ends there, partial with reason "narrowed:
	// the rest waits for room", and the rest is left to the active warm-up
	// (idle windows, room in the cache); an active warm-up's own task warms
	// it all. False: the rest warms at once.
	NarrowRestIdle bool
	// Changed is told the dataset of a task that finished or made progress
	// (notify.Hub.Notify: it wakes the API's waiting prologs); nil: nobody.
	Changed func(paths ...string)
}

func (c *Config) defaults() {
	if c.Workers < 0 {
		c.Workers = 0
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.TargetRatio <= 0 {
		c.TargetRatio = 0.99
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 5 * time.Second
	}
	if c.Recheck <= 0 {
		c.Recheck = 2 * time.Second
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
}

// Scheduler owns the worker slots.
type Scheduler struct {
	cfg    Config
	store  *queue.Store
	driver Driver
	log    zerolog.Logger
	now    func() time.Time
	owner  string

	rates rates

	mu      sync.Mutex
	running map[int64]*running   // task id -> its running attempt; see Stop
	arrays  map[string]*arrayRun // run name -> a warm-up running as a Slurm job array

	kick chan struct{}
	sem  chan struct{}
	wg   sync.WaitGroup
}

// New builds a scheduler. owner names this daemon instance in leases.
func New(cfg Config, store *queue.Store, driver Driver, log zerolog.Logger, now func() time.Time) *Scheduler {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	host, _ := os.Hostname()
	return &Scheduler{
		cfg: cfg, store: store, driver: driver, log: log, now: now,
		owner:   fmt.Sprintf("%s:%d:%d", host, os.Getpid(), time.Now().UnixNano()),
		kick:    make(chan struct{}, 1),
		rates:   rates{m: map[string]rate{}},
		running: map[int64]*running{},
		arrays:  map[string]*arrayRun{},
		sem:     make(chan struct{}, cfg.Workers),
	}
}

// Owner is the lease owner name of this instance.
func (s *Scheduler) Owner() string { return s.owner }

// Workers is the number of worker slots.
func (s *Scheduler) Workers() int { return s.cfg.Workers }

// Stop stops the running warm-ups of the given tasks at once: their juicefs
// processes are killed and their results dropped. Call it after the store
// took the tasks away from their workers (Store.Cancel); ids that are not
// running here are ignored. A task taken away just before its worker
// registered is caught by the worker's first heartbeat, sent at its start.
func (s *Scheduler) Stop(ids []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if r, ok := s.running[id]; ok {
			r.stop(errCancelled)
		}
	}
}

// running is one attempt in progress.
type running struct{ stop context.CancelCauseFunc }

// track registers the stop function of a running task until the returned
// func is called.
func (s *Scheduler) track(id int64, stop context.CancelCauseFunc) (untrack func()) {
	entry := &running{stop: stop}
	s.mu.Lock()
	s.running[id] = entry
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if s.running[id] == entry { // a later attempt of the same task may have replaced it
			delete(s.running, id)
		}
		s.mu.Unlock()
	}
}

// Kick wakes the loop (after a submit or a job start).
func (s *Scheduler) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run dequeues and runs tasks until ctx is done, then waits for running
// warm-ups to stop and hands their tasks back to the queue.
func (s *Scheduler) Run(ctx context.Context) error {
	s.cancelAbandoned(ctx)
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	replan := time.NewTimer(time.Hour)
	defer replan.Stop()
	for {
		if again := s.fill(ctx); again > 0 {
			replan.Reset(again)
		}
		select {
		case <-ctx.Done():
			s.wg.Wait()
			rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.store.ReleaseLeases(rctx, s.owner); err != nil {
				return fmt.Errorf("hand running tasks back to the queue: %w", err)
			}
			return nil
		case <-t.C:
		case <-s.kick:
			// Every submit kicks; a burst of them is served by one fill
			// (the kicks that come meanwhile wait in the channel as one).
			gap := time.NewTimer(kickGap)
			select {
			case <-ctx.Done():
			case <-gap.C:
			}
			gap.Stop()
		case <-replan.C:
		}
	}
}

// kickGap is the least time between two fills started by kicks: at
// thousands of submits per second, one scheduler round per submit would
// cost a goroutine wake-up (and a plan check) each; a warm-up starts at
// most this much later.
const kickGap = 2 * time.Millisecond

// fill starts tasks while worker slots are free. It returns how soon the
// planner wants to be asked again (0: at the next tick or kick).
func (s *Scheduler) fill(ctx context.Context) (again time.Duration) {
	if ctx.Err() != nil {
		return 0
	}
	var allowed []int64
	if s.cfg.Plan != nil {
		allowed, again = s.cfg.Plan(ctx, cap(s.sem)-len(s.sem))
	}
	for {
		select {
		case s.sem <- struct{}{}:
		default:
			return // all slots busy
		}
		var task *queue.Task
		var err error
		if s.cfg.Plan != nil {
			task, err = s.store.DequeueOnly(ctx, s.owner, s.now(), s.cfg.Lease, allowed)
		} else {
			task, err = s.store.Dequeue(ctx, s.owner, s.now(), s.cfg.Lease)
		}
		if err != nil || task == nil {
			<-s.sem
			if err != nil && ctx.Err() == nil && !queue.IsDamaged(err) { // the store logs damage itself, once
				s.log.Error().Err(err).Msg("dequeue")
			}
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem; s.Kick() }()
			s.work(ctx, task)
		}()
	}
}
