package planner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// A plan writes back only the queued tasks whose priority moved by
// PriorityStep or more, or whose wait reason changed; a task it writes keeps
// (or gets) its reason.
func TestChangesWritesOnlyWhatMoved(t *testing.T) {
	queued := func(id int64, stored float64, reason string) Dataset {
		return Dataset{ID: id, Path: "/jfs/d" + string(rune('a'+id)), State: api.TaskQueued,
			QueuedSince: t0.Add(-time.Hour), HitRate: -1, StoredPriority: stored, StoredReason: reason}
	}
	ds := []Dataset{queued(1, 0, ""), queued(2, 0, ""), queued(3, 0, ""), queued(4, 0, "")}
	cfg := DefaultConfig()
	d := Plan(Snapshot{Datasets: ds, FreeSlots: 1}, cfg, t0)
	require.Len(t, d.Priorities, 4)
	require.Len(t, d.Starts, 1)
	require.Len(t, d.Waits, 3)
	// The first round: nothing stored yet, so everything is written.
	prio, waits := d.Changes(ds)
	require.Len(t, prio, 4)
	require.Len(t, waits, 3)
	require.NotContains(t, waits, d.Starts[0].ID, "the task that starts has its reason cleared")

	// The store now holds that round.
	for i := range ds {
		ds[i].StoredPriority, ds[i].StoredReason = prio[ds[i].ID], waits[ds[i].ID]
	}
	prio, waits = Plan(Snapshot{Datasets: ds, FreeSlots: 1}, cfg, t0).Changes(ds)
	require.Empty(t, prio, "the same round again writes nothing")
	require.Empty(t, waits)

	// A little later the age factor has moved every priority, by less than
	// a step: still nothing. Later, by more: all of them.
	point := time.Duration(float64(cfg.Weights.AgeUnit) / cfg.Weights.Age) // the time the age factor takes to add 1
	prio, _ = Plan(Snapshot{Datasets: ds, FreeSlots: 1}, cfg, t0.Add(point*PriorityStep/2)).Changes(ds)
	require.Empty(t, prio, "moved by less than PriorityStep")
	big := 2 * point * PriorityStep
	prio, waits = Plan(Snapshot{Datasets: ds, FreeSlots: 1}, cfg, t0.Add(big)).Changes(ds)
	require.Len(t, prio, 4, "moved by more than PriorityStep")
	require.Len(t, waits, 3, "a rewritten waiting task keeps its reason")

	// One task's reason changes (no free slot: every task waits, the one
	// that started before included): only that one is written, with its
	// priority and its new reason.
	d = Plan(Snapshot{Datasets: ds, FreeSlots: 0}, cfg, t0)
	prio, waits = d.Changes(ds)
	started := d.Priorities[0].ID
	require.Equal(t, map[int64]float64{started: d.Priorities[0].Priority.Total}, prio)
	require.Len(t, waits, 1)
	require.Contains(t, waits[started], "waiting for a free warm-up worker")

	// A wait for a task the plan did not rank (the cache manager adds
	// some) is written when it is new, not again.
	d.Waits = append(d.Waits, Wait{ID: 9, Reason: "waiting for its size"})
	_, waits = d.Changes(append(ds, Dataset{ID: 9, State: api.TaskQueued}))
	require.Equal(t, "waiting for its size", waits[9])
	_, waits = d.Changes(append(ds, Dataset{ID: 9, State: api.TaskQueued, StoredReason: "waiting for its size"}))
	require.NotContains(t, waits, int64(9))
}
