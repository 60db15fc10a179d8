package planner

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

func queuedAt(id int64, at time.Time) Dataset {
	return Dataset{ID: id, Path: fmt.Sprintf("/jfs/d%d", id), State: api.TaskQueued, QueuedSince: at, HitRate: -1}
}

// store is what queue.ApplyPlan does with Changes' answer, on ds.
func store(ds []Dataset, prio map[int64]float64, waits map[int64]string) {
	for i := range ds {
		if p, ok := prio[ds[i].ID]; ok {
			ds[i].StoredPriority, ds[i].StoredReason = p, waits[ds[i].ID]
		} else if r, ok := waits[ds[i].ID]; ok {
			ds[i].StoredReason = r
		}
	}
}

// A plan writes back the queued tasks it has nothing stored for, whose
// wait reason changed, or whose priority moved across a threshold; a task
// it writes keeps (or gets) its reason, and a retry's reason counts as held.
func TestChangesWritesOnlyWhatMoved(t *testing.T) {
	ds := []Dataset{queuedAt(1, t0.Add(-time.Hour)), queuedAt(2, t0.Add(-time.Hour)), queuedAt(3, t0.Add(-time.Hour)), queuedAt(4, t0.Add(-time.Hour))}
	cfg := DefaultConfig()
	d := Plan(Snapshot{Datasets: ds, FreeSlots: 1}, cfg, t0)
	require.Len(t, d.Starts, 1)
	require.Len(t, d.Waits, 3)
	// Nothing stored yet: everything is written.
	prio, waits := d.Changes(ds)
	require.Len(t, prio, 4)
	require.Len(t, waits, 3)
	require.NotContains(t, waits, d.Starts[0].ID, "the task that starts has its reason cleared")
	store(ds, prio, waits)

	prio, waits = Plan(Snapshot{Datasets: ds, FreeSlots: 1}, cfg, t0).Changes(ds)
	require.Empty(t, prio, "the same round again writes nothing")
	require.Empty(t, waits)

	// No free slot: the task that started before now waits too. Only it
	// is written, with its priority and its new reason.
	d = Plan(Snapshot{Datasets: ds, FreeSlots: 0}, cfg, t0)
	prio, waits = d.Changes(ds)
	started := d.Priorities[0].ID
	require.Equal(t, map[int64]float64{started: d.Priorities[0].Priority.Total}, prio)
	require.Equal(t, map[int64]string{started: "waiting for a free warm-up worker"}, waits)
	store(ds, prio, waits)

	// A retry's reason stays until the task runs again (ApplyPlan keeps
	// it): rewriting it each round would change nothing.
	ds[1].StoredReason = "retry 2 of 3 at 14:05:00"
	prio, _ = Plan(Snapshot{Datasets: ds, FreeSlots: 0}, cfg, t0).Changes(ds)
	require.Empty(t, prio)

	// A wait for a task the plan did not rank (the cache manager adds
	// some) is written when it is new, not again.
	d.Waits = append(d.Waits, Wait{ID: 9, Reason: "waiting for its size"})
	_, waits = d.Changes(append(ds, Dataset{ID: 9, State: api.TaskQueued}))
	require.Equal(t, "waiting for its size", waits[9])
	_, waits = d.Changes(append(ds, Dataset{ID: 9, State: api.TaskQueued, StoredReason: "waiting for its size"}))
	require.NotContains(t, waits, int64(9))
}

// While the age factor moves every priority alike, each stored priority
// stays within PriorityStep of the live one, and the rewrites are spread
// over the rounds: tasks queued at the same instant are not all written in
// one round (which held the store's writer for the whole queue).
func TestChangesKeepsStoredPrioritiesCloseAndSpreadsTheWrites(t *testing.T) {
	const n = 20 * staggerBlock
	ds := make([]Dataset, n)
	for i := range ds {
		ds[i] = queuedAt(int64(i+1), t0) // the worst case: all move in step
	}
	cfg := DefaultConfig()
	point := time.Duration(float64(cfg.Weights.AgeUnit) / cfg.Weights.Age) // the age factor adds 1 in this time
	now := t0
	prio, waits := Plan(Snapshot{Datasets: ds}, cfg, now).Changes(ds)
	require.Len(t, prio, n, "the first round writes every task")
	store(ds, prio, waits)
	most, total := 0, 0
	const rounds = 50
	for range rounds {
		now = now.Add(point / 10)
		d := Plan(Snapshot{Datasets: ds}, cfg, now)
		prio, waits := d.Changes(ds)
		store(ds, prio, waits)
		most, total = max(most, len(prio)), total+len(prio)
		live := map[int64]float64{}
		for _, r := range d.Priorities {
			live[r.ID] = r.Priority.Total
		}
		for _, x := range ds {
			require.Less(t, math.Abs(live[x.ID]-x.StoredPriority), PriorityStep, "task %d", x.ID)
		}
	}
	// 50 rounds of a tenth of a point: each task crosses about 5
	// thresholds, a tenth of the tasks per round.
	require.InDelta(t, rounds*n/10, total, rounds*n/10/5)
	require.Less(t, most, n/4, "the rewrites are spread over the rounds")
}
