package priority

import (
	"math"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/config"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestBreakdownSumsToTotal(t *testing.T) {
	r := Compute(Input{PrologWaiting: 1, PendingStarts: []time.Time{t0.Add(time.Hour)}, QueuedSince: t0.Add(-3 * time.Hour),
		History: 10, Bytes: 200 << 30, CachedBytes: 100 << 30, HitRate: -1}, DefaultWeights(), t0)
	sum := 0.0
	for _, f := range r.Factors {
		sum += f.Contribution
		require.InDelta(t, f.Value*f.Weight, f.Contribution, 1e-9, f.Name)
	}
	require.InDelta(t, r.Total, sum, 1e-9)
	require.Len(t, r.Factors, 7)
	require.InDelta(t, 0.5, r.Get(FactorStartSoon).Value, 1e-9, "1h ahead with 1h horizon")
	require.InDelta(t, 0.5, r.Get(FactorAge).Value, 1e-9, "3h with 6h unit")
	require.InDelta(t, 0.5, r.Get(FactorHistory).Value, 1e-9)
	require.InDelta(t, 0.5, r.Get(FactorSize).Value, 1e-9, "100 GiB missing")
	require.InDelta(t, 0.5, r.Get(FactorHitRate).Value, 1e-9, "unknown hit rate is neutral")
	require.Contains(t, r.String(), "prolog_wait 10000 (1.000)")
}

func TestUrgentPrologOvertakesLargeQueued(t *testing.T) {
	w := DefaultWeights()
	big := Compute(Input{PendingStarts: []time.Time{t0.Add(5 * time.Minute), t0.Add(10 * time.Minute), {}, {}, {}, {}, {}, {}},
		QueuedSince: t0.Add(-12 * time.Hour), History: 50, Bytes: 5 << 40, HitRate: 1}, w, t0)
	urgent := Compute(Input{PrologWaiting: 1, QueuedSince: t0, Bytes: 10 << 40, HitRate: -1}, w, t0)
	require.Greater(t, urgent.Total, big.Total, "urgent %s\nbig %s", urgent, big)
}

func TestTenMinutesBeatsThreeDays(t *testing.T) {
	w := DefaultWeights()
	soon := Compute(Input{PendingStarts: []time.Time{t0.Add(10 * time.Minute)}, QueuedSince: t0, Bytes: 1 << 40, HitRate: -1}, w, t0)
	// The far one has more jobs, more history, is smaller and older: still below.
	far := Compute(Input{PendingStarts: []time.Time{t0.Add(72 * time.Hour), t0.Add(73 * time.Hour), t0.Add(74 * time.Hour)},
		QueuedSince: t0.Add(-time.Hour), History: 20, Bytes: 10 << 30, HitRate: 1}, w, t0)
	require.Greater(t, soon.Total, far.Total, "soon %s\nfar %s", soon, far)
	require.Less(t, far.Get(FactorStartSoon).Value, 0.02)
}

func TestNothingStarves(t *testing.T) {
	w := DefaultWeights()
	// A lonely, huge, unpopular task queued at t0 ...
	old := Input{QueuedSince: t0, Bytes: 10 << 40, HitRate: 0}
	// ... against an endless stream of fresh popular tasks whose jobs start now
	// (but nobody is in a prolog). Find when the old one wins.
	fresh := func(now time.Time) Input {
		return Input{PendingStarts: []time.Time{now, now, now, now, now, now, now, now, now}, QueuedSince: now, History: 1000, Bytes: 1, HitRate: 1}
	}
	won := time.Duration(-1)
	for d := time.Duration(0); d <= 30*24*time.Hour; d += time.Hour {
		now := t0.Add(d)
		if Compute(old, w, now).Total > Compute(fresh(now), w, now).Total {
			won = d
			break
		}
	}
	require.Positive(t, won, "the old task must eventually outrank fresh ones")
	require.Less(t, won, 4*24*time.Hour, "bounded wait with default weights")
}

func TestNoPendingJobsScoresZeroStartSoon(t *testing.T) {
	require.Zero(t, StartSoon(nil, time.Hour, t0))
	require.InDelta(t, 1, StartSoon([]time.Time{t0.Add(-time.Hour)}, time.Hour, t0), 1e-9, "overdue counts as now")
	require.InDelta(t, 1.0/25, StartSoon([]time.Time{{}}, time.Hour, t0), 1e-9, "unknown start counts as one day ahead")
}

func TestValidateAndFlags(t *testing.T) {
	require.NoError(t, DefaultWeights().Validate())
	w := DefaultWeights()
	w.Age = -1
	require.ErrorContains(t, w.Validate(), "PriorityWeightAge=-1")
	for _, v := range []float64{math.Inf(1), math.NaN()} { // pflag parses "inf" and "nan"
		w = DefaultWeights()
		w.History = v
		require.ErrorContains(t, w.Validate(), "PriorityWeightHistory=", "a priority must stay a number the store can hold")
	}
	w = DefaultWeights()
	w.AgeUnit = 0
	require.ErrorContains(t, w.Validate(), "PriorityAgeUnit")

	w = DefaultWeights()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	w.BindFlags(fs)
	require.NoError(t, fs.Parse([]string{"--priority-weight-prolog-wait=5", "--priority-age-unit=2h"}))
	require.Equal(t, 5.0, w.PrologWait)
	require.Equal(t, 2*time.Hour, w.AgeUnit)
	require.Equal(t, 5.0, w.ByFactor()[FactorPrologWait])
	fs.VisitAll(func(f *pflag.Flag) {
		require.True(t, config.IsKey(f.Name), "--%s is a key of pkg/config.Keys", f.Name)
	})
	require.NotNil(t, fs.Lookup("priority-weight-hit-rate"))
}

func TestFactorsAreTheWeightsInResultOrder(t *testing.T) {
	require.Equal(t, []string{"prolog_wait", "start_soon", "pending", "age", "history", "size", "hit_rate"}, Factors())
	r := Compute(Input{HitRate: -1}, DefaultWeights(), t0)
	var names []string
	for _, f := range r.Factors {
		names = append(names, f.Name)
		require.Equal(t, DefaultWeights().ByFactor()[f.Name], f.Weight, f.Name)
	}
	require.Equal(t, Factors(), names)
	require.Equal(t, "PriorityWeightHitRate", weightKey(FactorHitRate))
}
