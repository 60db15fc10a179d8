package planner

import (
	"time"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/priority"
)

// Dataset is one row of the cache status table joined with its task and jobs.
type Dataset struct {
	ID   int64
	Path string
	// Bytes is the dataset size (0 = not yet measured); CachedBytes comes from the last check.
	Bytes, CachedBytes int64
	// State is the state of its latest warm-up task ("" when it has none).
	State api.TaskState
	// QueuedSince is when the current task was queued.
	QueuedSince time.Time
	// RunningJobs counts running jobs that use the dataset.
	RunningJobs int
	// PrologWaiting counts jobs waiting in their prolog for it now.
	PrologWaiting int
	// PendingStarts has one expected start per pending job that needs it (zero time = unknown).
	PendingStarts []time.Time
	// History is the decayed count of jobs that used it.
	History float64
	// HitRate is the measured hit rate / access density in [0,1]; negative = unknown.
	HitRate float64
	// LastUsed is when a job last used it (breaks eviction ties: least recent first).
	LastUsed time.Time
	// StoredPriority and StoredReason are what the store holds for its
	// task: what an earlier plan wrote (Decision.Changes).
	StoredPriority float64
	StoredReason   string
}

// Needed reports whether a running, prologue-waiting or pending job, or a
// live task, needs the dataset; the planner never evicts such a dataset.
func (d *Dataset) Needed() bool {
	return d.RunningJobs > 0 || d.PrologWaiting > 0 || len(d.PendingStarts) > 0 ||
		d.State == api.TaskQueued || d.State == api.TaskWarming
}

// Ratio is CachedBytes/Bytes (0 when the size is unknown).
func (d *Dataset) Ratio() float64 {
	if d.Bytes <= 0 {
		return 0
	}
	return float64(d.CachedBytes) / float64(d.Bytes)
}

// Snapshot is everything Plan looks at.
type Snapshot struct {
	Datasets []Dataset
	// CapacityBytes is the cache capacity (config CacheCapacity); UsedBytes is
	// what the cache holds now (statfs of the cache dir, or the sum of CachedBytes).
	CapacityBytes, UsedBytes int64
	// FreeSlots is the number of idle warm-up workers.
	FreeSlots int
	// ObjectStoreLoad is the current object-storage load in [0,1] (manager mount metrics).
	ObjectStoreLoad float64
	// ActiveBytesUsed is what active warm-ups already fetched in the current window.
	ActiveBytesUsed int64
}

// Config holds the planner's settings.
type Config struct {
	Weights priority.Weights
	// WarmRatio: a dataset at or above this cached ratio is warm (TargetRatio).
	WarmRatio float64
	// FarHorizon: a dataset whose earliest need is further ahead than this
	// never evicts anything and leaves room for datasets needed sooner.
	FarHorizon time.Duration
	// ReserveAfter: a task blocked on space for this long holds back every
	// lower-priority task that would take space, so it cannot starve.
	ReserveAfter time.Duration
	// ActiveWindows, ActiveBudgetBytes (per window), ActiveMaxLoad (object-storage
	// load threshold) and ActiveMinHistory drive active warm-up.
	ActiveWindows     []Window
	ActiveBudgetBytes int64
	ActiveMaxLoad     float64
	ActiveMinHistory  float64
}

// DefaultConfig returns the planner defaults (no active windows).
func DefaultConfig() Config {
	return Config{
		Weights:          priority.DefaultWeights(),
		WarmRatio:        0.99,
		FarHorizon:       12 * time.Hour,
		ReserveAfter:     6 * time.Hour,
		ActiveMaxLoad:    0.5,
		ActiveMinHistory: 5,
	}
}

// Ranked is a queued dataset with its priority and breakdown.
type Ranked struct {
	ID       int64           `json:"id"`
	Path     string          `json:"path"`
	Priority priority.Result `json:"priority"`
}

// Start is a warm-up to start now. Bytes is what it will add to the cache.
type Start struct {
	ID       int64      `json:"id"`
	Path     string     `json:"path"`
	Bytes    int64      `json:"bytes"`
	Priority float64    `json:"priority"`
	Source   api.Source `json:"source"`
}

// Eviction is a dataset to evict (its block files are deleted, see
// jfs.Driver.EvictBlocks) and why.
type Eviction struct {
	ID     int64  `json:"id"`
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	Reason string `json:"reason"`
	// Active: it makes room for an active warm-up (else for data a job needs).
	Active bool `json:"active,omitempty"`
}

// Wait is a queued dataset that does not start now and why.
type Wait struct {
	ID     int64  `json:"id"`
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Decision is what the scheduler should do now. Apply Evictions before Starts.
type Decision struct {
	// Priorities lists every queued dataset, highest first.
	Priorities []Ranked `json:"priorities"`
	// MarkWarm lists queued datasets already at or above WarmRatio: mark them warm without work.
	MarkWarm []int64 `json:"mark_warm"`
	// Evictions frees room for Starts/Active, lowest value first.
	Evictions []Eviction `json:"evictions"`
	// Starts are passive warm-ups to start now, in order.
	Starts []Start `json:"starts"`
	// Waits says why each remaining queued dataset does not start.
	Waits []Wait `json:"waits"`
	// Active are active warm-ups (source "active") to start now.
	Active []Start `json:"active"`
	// ActiveReason says why active warm-up did or did not run.
	ActiveReason string `json:"active_reason"`
}
