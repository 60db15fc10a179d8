package priority

import (
	"fmt"
	"math"
	"strings"
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

// weightDefs is the one list of the weighted factors: each factor's name
// (Result, /v1/priority, swarmup prio's columns), its weight's field, flag
// (--priority-weight-NAME) and key (PriorityWeightName), and its help. The
// order is the order of a Result's factors.
var weightDefs = []struct {
	name  string
	field func(*Weights) *float64
	help  string
}{
	{FactorPrologWait, func(w *Weights) *float64 { return &w.PrologWait }, "a job is waiting in its prolog for the dataset"},
	{FactorStartSoon, func(w *Weights) *float64 { return &w.StartSoon }, "how soon the earliest pending job is expected to start"},
	{FactorPending, func(w *Weights) *float64 { return &w.Pending }, "number of jobs that need the dataset"},
	{FactorAge, func(w *Weights) *float64 { return &w.Age }, "time in queue, per --priority-age-unit"},
	{FactorHistory, func(w *Weights) *float64 { return &w.History }, "decayed count of jobs that used the dataset"},
	{FactorSize, func(w *Weights) *float64 { return &w.Size }, "small missing bytes (unblocks most jobs per byte)"},
	{FactorHitRate, func(w *Weights) *float64 { return &w.HitRate }, "measured hit rate / access density"},
}

// Factors returns the factor names in the order a Result lists them.
func Factors() []string {
	out := make([]string, len(weightDefs))
	for i, d := range weightDefs {
		out[i] = d.name
	}
	return out
}

// ByFactor returns each factor's weight by factor name (GET /v1/priority).
func (w Weights) ByFactor() map[string]float64 {
	out := make(map[string]float64, len(weightDefs))
	for _, d := range weightDefs {
		out[d.name] = *d.field(&w)
	}
	return out
}

// weightFlag is the flag of a factor's weight: prolog_wait is
// --priority-weight-prolog-wait (the key PriorityWeightPrologWait).
func weightFlag(factor string) string {
	return "priority-weight-" + strings.ReplaceAll(factor, "_", "-")
}

// weightKey is the configuration key of a factor's weight.
func weightKey(factor string) string {
	var b strings.Builder
	b.WriteString("PriorityWeight")
	for _, part := range strings.Split(factor, "_") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// Validate says what is wrong with w, in terms of its configuration keys.
func (w Weights) Validate() error {
	for _, d := range weightDefs {
		if v := *d.field(&w); !(v >= 0) || math.IsInf(v, 0) { // NaN too
			return fmt.Errorf("%s=%g: weights must be finite numbers >= 0 (0 switches the factor off)", weightKey(d.name), v)
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
// is flag --priority-weight-prolog-wait, and so on) and one per scale,
// writing into w, whose current values are the defaults shown. Each flag is a
// key of pkg/config.Keys.
func (w *Weights) BindFlags(fs *pflag.FlagSet) {
	for _, d := range weightDefs {
		p := d.field(w)
		fs.Float64Var(p, weightFlag(d.name), *p, "priority weight: "+d.help)
	}
	fs.DurationVar(&w.StartHorizon, "priority-start-horizon", w.StartHorizon, "expected start this far ahead scores 0.5 on start-soon")
	fs.DurationVar(&w.AgeUnit, "priority-age-unit", w.AgeUnit, "each unit of queue time adds 1 to the age factor")
	fs.Float64Var(&w.PendingRef, "priority-pending-ref", w.PendingRef, "this many jobs score 0.5 on pending")
	fs.Float64Var(&w.HistoryRef, "priority-history-ref", w.HistoryRef, "this decayed job count scores 0.5 on history")
	fs.Int64Var(&w.SizeRef, "priority-size-ref", w.SizeRef, "this many missing bytes score 0.5 on size")
}
