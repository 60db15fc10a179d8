package planner

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// BenchmarkPlan100k plans over 100 000 datasets (10 000 queued); the target is
// well under 100 ms per Plan. It reports ms/plan.
func BenchmarkPlan100k(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	ds := make([]Dataset, 100_000)
	var used int64
	for i := range ds {
		x := Dataset{ID: int64(i + 1), Path: "/jfs/d" + itoa(int64(i)), Bytes: int64(1+r.IntN(1000)) * GiB, History: r.Float64() * 20,
			LastUsed: t0.Add(-time.Duration(r.IntN(1000)) * time.Hour), HitRate: -1}
		switch {
		case i%10 == 0:
			x.State, x.QueuedSince = api.TaskQueued, t0.Add(-time.Duration(r.IntN(48))*time.Hour)
			x.PendingStarts = []time.Time{t0.Add(time.Duration(r.IntN(96)) * time.Hour)}
		case i%3 == 0:
			x.State, x.CachedBytes = api.TaskWarm, x.Bytes
		}
		used += x.CachedBytes
		ds[i] = x
	}
	s := Snapshot{Datasets: ds, CapacityBytes: used + 5000*GiB, UsedBytes: used, FreeSlots: 8}
	cfg := DefaultConfig()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		Plan(s, cfg, t0)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/plan")
}
