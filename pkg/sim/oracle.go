package sim

import (
	"cmp"
	"slices"
)

// oracle knows every future job (true start times included). Each tick it
// wants in the cache the datasets being read now, then those used soonest
// that fit together (Belady's
// rule by next use), warms those that are missing in next-use order and
// evicts only datasets outside that set. It is an upper bound, not a policy
// a daemon could run.
type oracle struct {
	byStart  []int
	ptr      int
	gen      []int // seen this tick
	want     []int // in this tick's desired set
	g        int
	pending  bool
	lookJobs int
	lookSecs float64
}

func newOracle(e *Engine) *oracle {
	o := &oracle{gen: make([]int, len(e.c.ds)), want: make([]int, len(e.c.ds)), lookJobs: 5000, lookSecs: 7 * 86400}
	o.byStart = make([]int, len(e.Jobs))
	for k := range o.byStart {
		o.byStart[k] = k
	}
	slices.SortStableFunc(o.byStart, func(a, b int) int { return cmp.Compare(e.Jobs[a].Start, e.Jobs[b].Start) })
	return o
}

func (o *oracle) name() string               { return "oracle" }
func (o *oracle) waits() bool                { return true }
func (o *oracle) submit(*Engine, int)        {}
func (o *oracle) prolog(*Engine, int, []int) {}
func (o *oracle) released(*Engine, int)      {}
func (o *oracle) ended(*Engine, int)         {}
func (o *oracle) warmed(*Engine, int)        {}
func (o *oracle) busy(*Engine) bool          { return o.pending }

// giveUp: the oracle's prolog knows the same ETA rule as accel's.
func (o *oracle) giveUp(e *Engine, j int) bool { return e.etaGiveUp(j) }

func (o *oracle) tick(e *Engine) {
	for o.ptr < len(o.byStart) && e.Jobs[o.byStart[o.ptr]].Start <= e.now {
		o.ptr++
	}
	o.pending = false
	if e.freeSlots() == 0 {
		return
	}
	o.g++
	capB := e.c.capacity
	var desired []int
	var total int64
	add := func(i int) {
		if o.gen[i] == o.g {
			return
		}
		o.gen[i] = o.g
		if total+e.c.ds[i].size <= capB {
			desired = append(desired, i)
			o.want[i] = o.g
			total += e.c.ds[i].size
		}
	}
	for _, j := range e.running { // being read now
		for _, i := range e.jobs[j].uses {
			add(i)
		}
	}
	for _, j := range e.waitQ {
		for _, i := range e.jobs[j].uses {
			add(i)
		}
	}
	for k := o.ptr; k < len(o.byStart) && k-o.ptr < o.lookJobs && total < capB; k++ {
		j := o.byStart[k]
		if e.Jobs[j].Start > e.now+o.lookSecs {
			break
		}
		for _, i := range e.jobs[j].uses {
			add(i)
		}
	}
	var inflight int64
	for _, i := range e.warming {
		inflight += e.c.ds[i].size - e.c.ds[i].cached
	}
	for _, i := range desired {
		if e.freeSlots() == 0 {
			o.pending = true
			break
		}
		d := &e.c.ds[i]
		if e.isWarm[i] || e.c.ready(i, e.Phys.WarmRatio) {
			continue
		}
		need := d.size - d.cached
		free := capB - e.c.used - inflight
		if need > free {
			var victims []int
			avail := free
			for _, v := range e.c.lru.idx {
				if avail >= need {
					break
				}
				if o.want[v] != o.g && !e.isWarm[v] {
					victims = append(victims, v)
					avail += e.c.ds[v].cached
				}
			}
			if avail < need {
				continue
			}
			for _, v := range victims {
				e.evict(v)
			}
		}
		inflight += need
		e.startWarm(i)
	}
}
