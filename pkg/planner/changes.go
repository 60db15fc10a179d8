package planner

import (
	"math"
	"strings"

	"github.com/accel-data/accel-data/pkg/api"
)

// PriorityStep is how far a queued task's priority may drift from the one
// stored before a plan writes it back. The age factor moves every queued
// task's priority a little each round (500 points per 6 h by default);
// rewriting them all each round kept the store's one writer, which every
// submission needs, busy for most of a second with 60 000 queued tasks.
// swarmup prio shows whole points; swarmup queue's stored value may lag
// the planner's by less than one. The planner itself ranks live values.
const PriorityStep = 1.0

// Changes is what of d the store does not hold yet (ds, the snapshot d was
// planned from, says what it holds): the priority of each queued task whose
// priority crossed its next write threshold or whose wait reason changed,
// and the wait reason of each of those that waits. A task it lists with a
// priority and no wait reason has its reason cleared (queue.ApplyPlan).
//
// A task's thresholds are PriorityStep apart, shifted by an offset of its
// own (stagger), so the stored value stays within PriorityStep of the live
// one, and tasks whose priorities move together (the age factor moves all
// alike) are written in different rounds, not all in one every 43 s.
func (d Decision) Changes(ds []Dataset) (prio map[int64]float64, waits map[int64]string) {
	type stored struct {
		prio   float64
		reason string
	}
	held := make(map[int64]stored, len(ds))
	for _, x := range ds {
		held[x.ID] = stored{x.StoredPriority, x.StoredReason}
	}
	reasons := make(map[int64]string, len(d.Waits))
	for _, w := range d.Waits {
		reasons[w.ID] = w.Reason
	}
	prio, waits = map[int64]float64{}, map[int64]string{}
	for _, r := range d.Priorities {
		h, ok := held[r.ID]
		reason := reasons[r.ID]
		if ok && !crossed(r.ID, h.prio, r.Priority.Total) && sameReason(h.reason, reason) {
			continue
		}
		prio[r.ID] = r.Priority.Total
		if reason != "" {
			waits[r.ID] = reason
		}
	}
	for id, reason := range reasons {
		if _, ranked := prio[id]; ranked {
			continue
		}
		if h, ok := held[id]; !ok || !sameReason(h.reason, reason) {
			waits[id] = reason
		}
	}
	return prio, waits
}

// crossed tells whether task id's priority went from stored to live across
// one of its write thresholds.
func crossed(id int64, stored, live float64) bool {
	off := stagger(id)
	return math.Floor(stored/PriorityStep+off) != math.Floor(live/PriorityStep+off)
}

// stagger is task id's offset in [0, 1), shared by the staggerBlock ids
// around it: the fractional part of the block's number times the golden
// ratio, which spreads consecutive blocks evenly. Neighbouring ids sit in
// neighbouring pages of the store's table, so a round writes runs of pages
// rather than one row in each (which took the writer 1.7 times as long,
// BenchmarkApplyPlan).
func stagger(id int64) float64 {
	_, frac := math.Modf(math.Abs(float64(id/staggerBlock)) * 0.6180339887498949)
	return frac
}

// staggerBlock is how many consecutive task ids share an offset.
const staggerBlock = 256

// sameReason tells whether the store holds reason already. A retry's
// reason (api.RetryReasonPrefix) stays until the task runs again
// (queue.ApplyPlan keeps it), so the planner's own counts as held.
func sameReason(stored, reason string) bool {
	return stored == reason || strings.HasPrefix(strings.ToLower(stored), api.RetryReasonPrefix)
}
