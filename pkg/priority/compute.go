package priority

import (
	"fmt"
	"strings"
	"time"
)

// Factor names, in the order a Result lists them.
const (
	FactorPrologWait = "prolog_wait"
	FactorStartSoon  = "start_soon"
	FactorPending    = "pending"
	FactorAge        = "age"
	FactorHistory    = "history"
	FactorSize       = "size"
	FactorHitRate    = "hit_rate"
)

// Input holds the recorded facts about one queued dataset.
type Input struct {
	// PrologWaiting counts jobs waiting in their prolog for the dataset now.
	PrologWaiting int
	// PendingStarts holds the expected start time of each pending job that
	// needs the dataset (squeue --start); a zero time means unknown.
	PendingStarts []time.Time
	// QueuedSince is when the warm-up task was queued.
	QueuedSince time.Time
	// History is the decayed count of jobs that used the dataset.
	History float64
	// Bytes and CachedBytes come from the cache status table; Bytes 0 means not yet measured.
	Bytes, CachedBytes int64
	// HitRate is the measured hit rate or access density in [0,1]; negative means unknown.
	HitRate float64
}

// Factor is one line of the breakdown.
type Factor struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"` // normalised value, [0,1] except age
	Weight       float64 `json:"weight"`
	Contribution float64 `json:"contribution"` // Value * Weight
}

// Result is a priority with its breakdown; Total is the sum of the contributions.
type Result struct {
	Total   float64  `json:"total"`
	Factors []Factor `json:"factors"`
}

// Get returns the factor called name (zero Factor when absent).
func (r Result) Get(name string) Factor {
	for _, f := range r.Factors {
		if f.Name == name {
			return f
		}
	}
	return Factor{}
}

// String prints the breakdown on one line, like sprio.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.0f =", r.Total)
	for i, f := range r.Factors {
		if i > 0 {
			b.WriteString(" +")
		}
		fmt.Fprintf(&b, " %s %.0f (%.3f)", f.Name, f.Contribution, f.Value)
	}
	return b.String()
}

// unknownStart is how far ahead a pending job with no expected start is assumed to be.
const unknownStart = 24 * time.Hour

// Compute returns the priority of one dataset at now: each factor's
// normalised value times its weight, in the order of Factors.
func Compute(in Input, w Weights, now time.Time) Result {
	n := float64(in.PrologWaiting + len(in.PendingStarts))
	age := 0.0
	if !in.QueuedSince.IsZero() && now.After(in.QueuedSince) && w.AgeUnit > 0 {
		age = float64(now.Sub(in.QueuedSince)) / float64(w.AgeUnit)
	}
	h := max(in.History, 0)
	missing := max(in.Bytes-in.CachedBytes, 0)
	hr := 0.5 // unknown: neutral
	if in.HitRate >= 0 {
		hr = min(in.HitRate, 1)
	}
	value := func(factor string) float64 {
		switch factor {
		case FactorPrologWait:
			return b2f(in.PrologWaiting > 0)
		case FactorStartSoon:
			return StartSoon(in.PendingStarts, w.StartHorizon, now)
		case FactorPending:
			return n / (n + w.PendingRef)
		case FactorAge:
			return age
		case FactorHistory:
			return h / (h + w.HistoryRef)
		case FactorSize:
			return 1 / (1 + float64(missing)/float64(max(w.SizeRef, 1)))
		case FactorHitRate:
			return hr
		}
		panic("priority: no value for factor " + factor)
	}
	r := Result{Factors: make([]Factor, len(weightDefs))}
	for i, d := range weightDefs {
		r.Factors[i] = mk(d.name, value(d.name), *d.field(&w))
		r.Total += r.Factors[i].Contribution
	}
	return r
}

// StartSoon is the start-soon factor: 1/(1+d/horizon) for the earliest
// expected start d ahead (d=0 when overdue), 0 when there is no pending job.
func StartSoon(starts []time.Time, horizon time.Duration, now time.Time) float64 {
	if len(starts) == 0 || horizon <= 0 {
		return 0
	}
	best := time.Duration(1<<63 - 1)
	for _, s := range starts {
		d := unknownStart
		if !s.IsZero() {
			d = max(s.Sub(now), 0)
		}
		best = min(best, d)
	}
	return 1 / (1 + float64(best)/float64(horizon))
}

func mk(name string, v, w float64) Factor {
	return Factor{Name: name, Value: v, Weight: w, Contribution: v * w}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
