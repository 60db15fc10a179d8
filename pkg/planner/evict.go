package planner

import (
	"cmp"
	"slices"
)

// evictables is the pool of datasets that no job needs and that hold cache
// space, lowest value (history, then least recently used) first.
type evictables struct {
	ds    []Dataset
	order []int
	next  int
	total int64
	gone  map[int]bool // evicted in this plan
	keep  map[int]bool // chosen for warm-up in this plan: never evicted
}

func newEvictables(ds []Dataset) *evictables {
	e := &evictables{ds: ds, gone: map[int]bool{}, keep: map[int]bool{}}
	for i := range ds {
		if !ds[i].Needed() && ds[i].CachedBytes > 0 {
			e.order = append(e.order, i)
			e.total += ds[i].CachedBytes
		}
	}
	slices.SortFunc(e.order, func(a, b int) int {
		x, y := &ds[a], &ds[b]
		if x.History != y.History {
			if x.History < y.History {
				return -1
			}
			return 1
		}
		if c := x.LastUsed.Compare(y.LastUsed); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return e
}

// pop removes and returns the lowest-value evictable dataset; below >= 0
// restricts it to datasets with History < below (the caller checked that
// enough such bytes exist with totalBelow).
func (e *evictables) pop(below float64) *Dataset {
	for ; e.next < len(e.order); e.next++ {
		i := e.order[e.next]
		if e.keep[i] || e.gone[i] {
			continue
		}
		x := &e.ds[i]
		if below >= 0 && x.History >= below {
			break
		}
		e.next++
		e.gone[i] = true
		e.total -= x.CachedBytes
		return x
	}
	panic("planner: evictables exhausted; callers must check total first")
}

// totalBelow is the evictable bytes with History < below, excluding index skip.
func (e *evictables) totalBelow(below float64, skip int) int64 {
	var n int64
	for k := e.next; k < len(e.order); k++ {
		i := e.order[k]
		if e.ds[i].History >= below {
			break
		}
		if !e.keep[i] && !e.gone[i] && i != skip {
			n += e.ds[i].CachedBytes
		}
	}
	return n
}
