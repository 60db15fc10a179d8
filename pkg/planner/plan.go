package planner

import (
	"cmp"
	"fmt"
	"github.com/accel-data/accel-data/internal/bytesize"
	"slices"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/priority"
)

type cand struct {
	i       int
	prio    priority.Result
	missing int64
	near    bool
}

// Plan decides what to do at now. It never evicts a Needed dataset, never
// starts a passive warm-up that cannot fit without doing so, and starts no
// more than FreeSlots warm-ups (passive first, then active). A Snapshot with
// CapacityBytes <= 0 has no known capacity: nothing is evicted or held for space.
func Plan(s Snapshot, cfg Config, now time.Time) Decision {
	var d Decision
	ds := s.Datasets
	limited := s.CapacityBytes > 0

	var inflight int64
	var cands []cand
	for i := range ds {
		x := &ds[i]
		switch x.State {
		case api.TaskWarming:
			inflight += max(x.Bytes-x.CachedBytes, 0)
		case api.TaskQueued:
			if x.Bytes > 0 && x.Ratio() >= cfg.WarmRatio {
				d.MarkWarm = append(d.MarkWarm, x.ID)
				continue
			}
			c := cand{i: i, missing: max(x.Bytes-x.CachedBytes, 0)}
			c.prio = priority.Compute(priority.Input{
				PrologWaiting: x.PrologWaiting, PendingStarts: x.PendingStarts, QueuedSince: x.QueuedSince,
				History: x.History, Bytes: x.Bytes, CachedBytes: x.CachedBytes, HitRate: x.HitRate,
			}, cfg.Weights, now)
			c.near = x.RunningJobs > 0 || x.PrologWaiting > 0 || !farOff(x.PendingStarts, now, cfg.FarHorizon)
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.prio.Total != b.prio.Total {
			if a.prio.Total > b.prio.Total {
				return -1
			}
			return 1
		}
		if c := ds[a.i].QueuedSince.Compare(ds[b.i].QueuedSince); c != 0 {
			return c
		}
		return cmp.Compare(ds[a.i].ID, ds[b.i].ID)
	})
	d.Priorities = make([]Ranked, len(cands))
	var nearDemand int64
	for k, c := range cands {
		d.Priorities[k] = Ranked{ID: ds[c.i].ID, Path: ds[c.i].Path, Priority: c.prio}
		if c.near {
			nearDemand += c.missing
		}
	}

	free := s.CapacityBytes - s.UsedBytes - inflight
	ev := newEvictables(ds)
	slots := s.FreeSlots
	var heldBy *Dataset
	var heldFor time.Duration

	for _, c := range cands {
		x := &ds[c.i]
		if c.near {
			nearDemand -= c.missing
		}
		wait := func(format string, a ...any) {
			d.Waits = append(d.Waits, Wait{ID: x.ID, Path: x.Path, Reason: fmt.Sprintf(format, a...)})
		}
		switch {
		case slots <= 0:
			wait("waiting for a free warm-up worker")
			continue
		case !limited || x.Bytes <= 0:
			// Size unknown or no capacity configured: nothing to guard against.
		case heldBy != nil:
			wait("held behind %s, which has waited %s for cache space", heldBy.Path, heldFor.Round(time.Minute))
			continue
		case !c.near:
			if avail := free - max(nearDemand, 0); c.missing > avail {
				wait("deferred: first job expected in %s; needs %s, %s free after room for jobs starting sooner (never evicts for a job this far off)",
					earliest(x.PendingStarts, now).Round(time.Minute), bytesize.Format(c.missing), bytesize.Format(max(avail, 0)))
				continue
			}
		case c.missing > free+ev.total:
			wait("waiting for cache space: needs %s, %s free, %s evictable", bytesize.Format(c.missing), bytesize.Format(max(free, 0)), bytesize.Format(ev.total))
			if age := now.Sub(x.QueuedSince); cfg.ReserveAfter > 0 && age >= cfg.ReserveAfter {
				heldBy, heldFor = x, age
			}
			continue
		case c.missing > free:
			for free < c.missing {
				e := ev.pop(-1)
				free += e.CachedBytes
				d.Evictions = append(d.Evictions, Eviction{ID: e.ID, Path: e.Path, Bytes: e.CachedBytes,
					Reason: fmt.Sprintf("make room for %s (needs %s): no job needs it, history %.2f, lowest value", x.Path, bytesize.Format(c.missing), e.History)})
			}
		}
		free -= c.missing
		slots--
		d.Starts = append(d.Starts, Start{ID: x.ID, Path: x.Path, Bytes: c.missing, Priority: c.prio.Total, Source: api.SourceSubmit})
	}

	d.ActiveReason = planActive(&d, s, cfg, now, ds, len(cands), slots, free, ev)
	return d
}

// planActive appends active warm-ups to d and returns why it did or did not.
func planActive(d *Decision, s Snapshot, cfg Config, now time.Time, ds []Dataset, queued, slots int, free int64, ev *evictables) string {
	switch {
	case len(cfg.ActiveWindows) == 0:
		return "no ActiveWindows configured"
	case !InWindows(cfg.ActiveWindows, now):
		return "outside ActiveWindows"
	case queued > 0:
		return fmt.Sprintf("%d passive warm-ups queued", queued)
	case s.ObjectStoreLoad >= cfg.ActiveMaxLoad:
		return fmt.Sprintf("object-storage load %.2f >= ActiveMaxLoad %.2f", s.ObjectStoreLoad, cfg.ActiveMaxLoad)
	case slots <= 0:
		return "no free warm-up worker"
	case s.ActiveBytesUsed >= cfg.ActiveBudgetBytes:
		return fmt.Sprintf("window budget used (%s of %s)", bytesize.Format(s.ActiveBytesUsed), bytesize.Format(cfg.ActiveBudgetBytes))
	}
	budget := cfg.ActiveBudgetBytes - s.ActiveBytesUsed
	var idx []int
	for i := range ds {
		x := &ds[i]
		if !x.Needed() && x.Bytes > 0 && x.Ratio() < cfg.WarmRatio && x.History >= cfg.ActiveMinHistory {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if ds[a].History != ds[b].History {
			if ds[a].History > ds[b].History {
				return -1
			}
			return 1
		}
		return cmp.Compare(ds[a].ID, ds[b].ID)
	})
	for k, i := range idx {
		if slots <= 0 || budget <= 0 || k >= maxActiveExamined {
			break
		}
		x := &ds[i]
		if ev.gone[i] {
			continue
		}
		missing := x.Bytes - x.CachedBytes
		if missing > budget {
			continue
		}
		if s.CapacityBytes > 0 && missing > free {
			// Only datasets nobody needs and worth less than this one may go.
			if missing > free+ev.totalBelow(x.History, i) {
				continue
			}
			ev.keep[i] = true
			for free < missing {
				e := ev.pop(x.History)
				free += e.CachedBytes
				d.Evictions = append(d.Evictions, Eviction{ID: e.ID, Path: e.Path, Bytes: e.CachedBytes, Active: true,
					Reason: fmt.Sprintf("active warm-up of %s (history %.2f): no job needs it, history %.2f", x.Path, x.History, e.History)})
			}
		}
		ev.keep[i] = true
		free -= missing
		budget -= missing
		slots--
		d.Active = append(d.Active, Start{ID: x.ID, Path: x.Path, Bytes: missing, Priority: x.History, Source: api.SourceActive})
	}
	if len(d.Active) == 0 {
		return "nothing worth warming fits the budget and free space"
	}
	return fmt.Sprintf("%d active warm-ups", len(d.Active))
}

// maxActiveExamined bounds the active-warm-up scan so Plan stays fast on huge tables.
const maxActiveExamined = 1000

func farOff(starts []time.Time, now time.Time, horizon time.Duration) bool {
	if len(starts) == 0 || horizon <= 0 {
		return false
	}
	return earliest(starts, now) > horizon
}

func earliest(starts []time.Time, now time.Time) time.Duration {
	best := time.Duration(1<<63 - 1)
	for _, s := range starts {
		if s.IsZero() {
			continue // unknown: does not make the dataset far off
		}
		best = min(best, s.Sub(now))
	}
	if best == time.Duration(1<<63-1) {
		return 0
	}
	return best
}
