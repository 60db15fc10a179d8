package planner

import "math"

// PriorityStep is how far a queued task's priority must move before a plan
// writes it back to the store. The age factor moves every queued task's
// priority a little each round (500 points per 6 h by default); rewriting
// them all each round kept the store's one writer, which every submission
// needs, busy for most of a second with 60 000 queued tasks. Priorities
// are shown as whole numbers, so a stored one is off by less than one of
// what swarmup shows; the planner itself ranks with live values.
const PriorityStep = 1.0

// Changes is what of d the store does not hold yet (ds, the snapshot d was
// planned from, says what it holds): the priority of each queued task whose
// priority moved by PriorityStep or more or whose wait reason changed, and
// the wait reason of each of those that waits. A task it lists with a
// priority and no wait reason has its reason cleared (queue.ApplyPlan).
func (d Decision) Changes(ds []Dataset) (prio map[int64]float64, waits map[int64]string) {
	type stored struct {
		prio   float64
		reason string
	}
	held := make(map[int64]stored, len(d.Priorities))
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
		if ok && math.Abs(r.Priority.Total-h.prio) < PriorityStep && reason == h.reason {
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
		if h, ok := held[id]; !ok || h.reason != reason {
			waits[id] = reason
		}
	}
	return prio, waits
}
