package sim

import (
	"cmp"
	"math"
	"slices"
)

// oracle knows every future job and its true start. It is Belady's rule with
// prefetch, by byte offset: a dataset is cached as a prefix and each job reads
// its part from offset 0 at the rate it consumes, so the oracle knows when
// every cached byte is next read. Each tick it warms, in order of when their
// first missing byte is needed, the part the next users read, making room
// only by trimming tails that are next read later than that (furthest first);
// when reads overflow the cache it trims the tail read furthest in the
// future instead of the least recently used. It is a clairvoyant reference
// no daemon can run, not a proven bound: bandwidth limits and the prefix
// cache make the offline problem harder than Belady's (it trims what a
// reader has passed, and then cannot warm ahead of that reader).
// TestOracleIsAboveEveryPolicy states where it is above the others.
type oracle struct {
	byStart   []int
	ptr       int
	users     [][]user  // per dataset, this tick
	tgt       []int64   // bytes the users in the look-ahead read
	need      []float64 // when a candidate's first missing byte is read, this tick
	tail      []float64 // when a victim's last cached byte is read
	cands     []int
	victims   []int // cached datasets by tail, furthest first; nil until needed this tick
	victimBuf []int
	pending   bool
	lookJobs  int
	lookSecs  float64
}

// user is one job's reading of a dataset: offset off0 at t0, then rate
// bytes/s up to end; a job not yet released needs the first hold bytes at t0
// (its release checks them).
type user struct {
	t0, rate        float64
	off0, end, hold int64
}

// at is when u needs offset off, +Inf when it does not.
func (u user) at(off int64) float64 {
	if off < u.hold {
		return u.t0
	}
	if off < u.off0 || off >= u.end {
		return math.Inf(1)
	}
	return u.t0 + float64(off-u.off0)/u.rate
}

func newOracle(e *Engine) *oracle {
	n := len(e.c.ds)
	o := &oracle{users: make([][]user, n), tgt: make([]int64, n), need: make([]float64, n), tail: make([]float64, n), lookJobs: 5000, lookSecs: 7 * 86400}
	o.byStart = make([]int, len(e.Jobs))
	for k := range o.byStart {
		o.byStart[k] = k
	}
	slices.SortStableFunc(o.byStart, func(a, b int) int { return cmp.Compare(e.Jobs[a].Start, e.Jobs[b].Start) })
	e.c.victim = func() int { // Belady: trim the tail read furthest in the future
		best, bt := e.c.lru.idx[0], math.Inf(-1)
		for _, v := range e.c.lru.idx {
			if t := o.tailAt(e, v); t > bt {
				best, bt = v, t
			}
		}
		return best
	}
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

// useAt is when offset off of dataset i is next read.
func (o *oracle) useAt(i int, off int64) float64 {
	t := math.Inf(1)
	for _, u := range o.users[i] {
		t = min(t, u.at(off))
	}
	return t
}

// tailAt is when the last cached byte of dataset i is next read.
func (o *oracle) tailAt(e *Engine, i int) float64 { return o.useAt(i, e.c.ds[i].cached-1) }

// keep is how much of dataset i's prefix is read by time t.
func (o *oracle) keep(i int, t float64) int64 {
	var n int64
	for _, u := range o.users[i] {
		if u.t0 <= t {
			n = max(n, u.hold, min(u.end, u.off0+int64((t-u.t0)*u.rate)))
		}
	}
	return n
}

// look fills users and tgt for the current time.
func (o *oracle) look(e *Engine) {
	for i := range o.users {
		o.users[i], o.tgt[i] = o.users[i][:0], 0
	}
	add := func(j int, t0 float64, pos []int64) {
		job := &e.Jobs[j]
		for k, i := range e.jobs[j].uses {
			w := int64(job.Datasets[k].Read * float64(e.c.ds[i].size))
			rate := math.Inf(1)
			if job.Duration > 0 {
				rate = float64(w) / (e.jobs[j].rho * job.Duration)
			}
			u := user{t0: t0, rate: rate, end: w}
			if pos != nil { // warm ahead of a running reader
				u.off0 = pos[k]
			} else { // and before a job starts, what releases it
				u.hold = e.need(j, k)
			}
			o.tgt[i] = max(o.tgt[i], w, u.hold)
			if u.off0 < u.end || u.hold > 0 {
				o.users[i] = append(o.users[i], u)
			}
		}
	}
	for _, j := range e.running {
		if e.jobs[j].prog < e.jobs[j].rho {
			add(j, e.now, e.jobs[j].pos)
		}
	}
	for _, j := range e.waitQ {
		add(j, e.now, nil)
	}
	for k := o.ptr; k < len(o.byStart) && k-o.ptr < o.lookJobs; k++ {
		j := o.byStart[k]
		if e.Jobs[j].Start > e.now+o.lookSecs {
			break
		}
		add(j, max(e.Jobs[j].Start, e.now), nil)
	}
}

func (o *oracle) tick(e *Engine) {
	for o.ptr < len(o.byStart) && e.Jobs[o.byStart[o.ptr]].Start <= e.now {
		o.ptr++
	}
	o.look(e)
	o.pending = false
	if e.freeSlots() == 0 {
		return
	}
	o.cands = o.cands[:0]
	for i := range o.users {
		if !e.isWarm[i] && e.c.ds[i].cached < o.tgt[i] {
			if o.need[i] = o.useAt(i, e.c.ds[i].cached); !math.IsInf(o.need[i], 1) {
				o.cands = append(o.cands, i)
			}
		}
	}
	slices.SortFunc(o.cands, func(a, b int) int { return cmp.Or(cmp.Compare(o.need[a], o.need[b]), cmp.Compare(a, b)) })
	o.victims = nil
	var inflight int64
	for _, i := range e.warming {
		inflight += max(e.target[i]-e.c.ds[i].cached, 0)
	}
	for _, x := range o.cands {
		if e.freeSlots() == 0 && !o.preempt(e, o.need[x], &inflight) {
			o.pending = true
			return
		}
		d := &e.c.ds[x]
		need := o.tgt[x] - d.cached
		free := e.c.capacity - e.c.used - inflight
		if free < need {
			if o.victims == nil { // once a tick: cached tails, furthest first
				o.victims = append(o.victimBuf[:0], e.c.lru.idx...)
				for _, v := range o.victims {
					o.tail[v] = o.tailAt(e, v)
				}
				slices.SortFunc(o.victims, func(a, b int) int { return cmp.Or(cmp.Compare(o.tail[b], o.tail[a]), cmp.Compare(a, b)) })
				o.victimBuf = o.victims
			}
			t := o.need[x]
			for _, v := range o.victims {
				if free >= need {
					break
				}
				if v == x || e.isWarm[v] || e.c.ds[v].cached == 0 || o.tail[v] <= t {
					continue
				}
				if n := min(e.c.ds[v].cached-o.keep(v, t), need-free); n > 0 {
					e.c.drop(v, n)
					free += n
					o.tail[v] = math.Inf(-1)
					if e.c.ds[v].cached > 0 {
						o.tail[v] = o.tailAt(e, v)
					}
				}
			}
		}
		if n := min(need, free); n > 0 {
			e.startWarmTo(x, d.cached+n)
			inflight += n
		}
	}
}

// preempt stops the warm-up whose data is needed latest when that is later
// than t, so that a worker can warm what is needed at t.
func (o *oracle) preempt(e *Engine, t float64, inflight *int64) bool {
	w, wt := -1, t
	for _, i := range e.warming {
		if u := o.useAt(i, e.c.ds[i].cached); u > wt {
			w, wt = i, u
		}
	}
	if w < 0 {
		return false
	}
	*inflight -= max(e.target[w]-e.c.ds[w].cached, 0)
	e.stopWarm(w)
	return true
}
