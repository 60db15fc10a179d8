package priority

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// Weights are the multiplier of each normalised factor and the scales that
// normalise them. Every field is a configuration key (see BindFlags).
type Weights struct {
	// PrologWait weighs "a job is waiting in its prolog for this dataset now".
	PrologWait float64 `json:"prolog_wait"`
	// StartSoon weighs how soon the earliest pending job that needs the dataset is expected to start.
	StartSoon float64 `json:"start_soon"`
	// Pending weighs how many jobs (pending or in a prolog) need the dataset.
	Pending float64 `json:"pending"`
	// Age weighs the time the task has been queued, per AgeUnit (not capped).
	Age float64 `json:"age"`
	// History weighs the decayed count of jobs that used the dataset.
	History float64 `json:"history"`
	// Size weighs smallness of the bytes still missing from the cache.
	Size float64 `json:"size"`
	// HitRate weighs the measured hit rate / access density when known.
	HitRate float64 `json:"hit_rate"`

	// StartHorizon: a job expected to start this far ahead scores 0.5 on StartSoon.
	StartHorizon time.Duration `json:"start_horizon"`
	// AgeUnit: each AgeUnit in the queue adds 1 to the age factor.
	AgeUnit time.Duration `json:"age_unit"`
	// PendingRef: this many jobs score 0.5 on Pending.
	PendingRef float64 `json:"pending_ref"`
	// HistoryRef: this decayed job count scores 0.5 on History.
	HistoryRef float64 `json:"history_ref"`
	// SizeRef: this many missing bytes score 0.5 on Size.
	SizeRef int64 `json:"size_ref"`
}

// DefaultWeights are the weights used when the configuration sets none.
// A prolog waiting now outranks everything else a fresh task can score
// (the other weights sum to 7 200 < 10 000); an expected start 10 minutes
// ahead scores 0.86 x 4 000, three days ahead 0.01 x 4 000.
func DefaultWeights() Weights {
	return Weights{
		PrologWait:   10000,
		StartSoon:    4000,
		Pending:      1000,
		Age:          500,
		History:      500,
		Size:         1000,
		HitRate:      200,
		StartHorizon: time.Hour,
		AgeUnit:      6 * time.Hour,
		PendingRef:   4,
		HistoryRef:   10,
		SizeRef:      100 << 30,
	}
}

// Validate says what is wrong with w, in terms of its configuration keys.
func (w Weights) Validate() error {
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"PriorityWeightPrologWait", w.PrologWait}, {"PriorityWeightStartSoon", w.StartSoon},
		{"PriorityWeightPending", w.Pending}, {"PriorityWeightAge", w.Age},
		{"PriorityWeightHistory", w.History}, {"PriorityWeightSize", w.Size},
		{"PriorityWeightHitRate", w.HitRate},
	} {
		if f.v < 0 {
			return fmt.Errorf("%s=%g: weights must be >= 0 (0 switches the factor off)", f.key, f.v)
		}
	}
	if w.StartHorizon <= 0 || w.AgeUnit <= 0 {
		return fmt.Errorf("PriorityStartHorizon and PriorityAgeUnit must be > 0 (e.g. 1h and 6h)")
	}
	if w.PendingRef <= 0 || w.HistoryRef <= 0 || w.SizeRef <= 0 {
		return fmt.Errorf("PriorityPendingRef, PriorityHistoryRef and PrioritySizeRef must be > 0 (defaults 4, 10, 100GiB)")
	}
	return nil
}

// BindFlags registers one flag per weight on fs (key PriorityWeightPrologWait
// is flag --priority-weight-prolog-wait, and so on), writing into w, whose
// current values are the defaults shown. Add the keys to pkg/config.Keys.
func (w *Weights) BindFlags(fs *pflag.FlagSet) {
	fs.Float64Var(&w.PrologWait, "priority-weight-prolog-wait", w.PrologWait, "priority weight: a job is waiting in its prolog for the dataset")
	fs.Float64Var(&w.StartSoon, "priority-weight-start-soon", w.StartSoon, "priority weight: how soon the earliest pending job is expected to start")
	fs.Float64Var(&w.Pending, "priority-weight-pending", w.Pending, "priority weight: number of jobs that need the dataset")
	fs.Float64Var(&w.Age, "priority-weight-age", w.Age, "priority weight: time in queue, per --priority-age-unit")
	fs.Float64Var(&w.History, "priority-weight-history", w.History, "priority weight: decayed count of jobs that used the dataset")
	fs.Float64Var(&w.Size, "priority-weight-size", w.Size, "priority weight: small missing bytes (unblocks most jobs per byte)")
	fs.Float64Var(&w.HitRate, "priority-weight-hit-rate", w.HitRate, "priority weight: measured hit rate / access density")
	fs.DurationVar(&w.StartHorizon, "priority-start-horizon", w.StartHorizon, "expected start this far ahead scores 0.5 on start-soon")
	fs.DurationVar(&w.AgeUnit, "priority-age-unit", w.AgeUnit, "each unit of queue time adds 1 to the age factor")
	fs.Float64Var(&w.PendingRef, "priority-pending-ref", w.PendingRef, "this many jobs score 0.5 on pending")
	fs.Float64Var(&w.HistoryRef, "priority-history-ref", w.HistoryRef, "this decayed job count scores 0.5 on history")
	fs.Int64Var(&w.SizeRef, "priority-size-ref", w.SizeRef, "this many missing bytes score 0.5 on size")
}

// ConfigKeys lists the configuration keys BindFlags registers.
var ConfigKeys = []string{
	"PriorityWeightPrologWait", "PriorityWeightStartSoon", "PriorityWeightPending", "PriorityWeightAge",
	"PriorityWeightHistory", "PriorityWeightSize", "PriorityWeightHitRate",
	"PriorityStartHorizon", "PriorityAgeUnit", "PriorityPendingRef", "PriorityHistoryRef", "PrioritySizeRef",
}
