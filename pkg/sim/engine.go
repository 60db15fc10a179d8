package sim

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/accel-data/accel-data/pkg/prologwait"
)

// Physics is the simulated JuiceFS and cluster, the same for every policy.
type Physics struct {
	// CacheBytes is the cache capacity.
	CacheBytes int64
	// ObjectBW is the object-storage bandwidth (bytes/s) shared by warm-ups;
	// WarmBW caps one warm-up. Read misses are fetched on demand and are not
	// throttled (they only count as fetched bytes and as object-storage load).
	ObjectBW, WarmBW float64
	// Workers is the number of concurrent warm-ups.
	Workers int
	// PrologWait bounds how long a prolog holds a job's GPUs waiting for its data.
	PrologWait float64
	// WarmRatio: a dataset at or above this cached ratio is ready.
	WarmRatio float64
	// Tick is the clock step in seconds (the scheduler interval).
	Tick float64
}

// DefaultPhysics returns the physics used for the reference results; the
// cache size is set by the caller.
func DefaultPhysics() Physics {
	return Physics{ObjectBW: 8 << 30, WarmBW: 2 << 30, Workers: 8, PrologWait: 600, WarmRatio: 0.99, Tick: 60}
}

// Result holds one policy's figures.
type Result struct {
	Policy      string
	Jobs        int
	ReadBytes   int64 // bytes jobs read
	HitBytes    int64 // of which served from the cache
	FetchBytes  int64 // bytes fetched from object storage (warm-ups + read misses)
	WarmBytes   int64 // of which by warm-ups
	EvictBytes  int64 // bytes evicted (explicit + LRU)
	CachedBytes int64 // bytes in the cache at the end
	PrologGPUs  float64
	BoundHits   int // prologs that hit the PrologWait bound
	Wall        time.Duration
}

// HitRatio is HitBytes/ReadBytes (1 when nothing was read).
func (r Result) HitRatio() float64 {
	if r.ReadBytes == 0 {
		return 1
	}
	return float64(r.HitBytes) / float64(r.ReadBytes)
}

// Epoch is the wall-clock time of trace second 0 (a Monday, 00:00 UTC), so
// time-of-day windows line up with the generator's diurnal cycle.
var Epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// policy is a warm-up policy; it acts on the engine through startWarm/evict.
type policy interface {
	name() string
	waits() bool // whether prologs wait for data at all
	submit(e *Engine, j int)
	prolog(e *Engine, j int, missing []int)
	released(e *Engine, j int)
	ended(e *Engine, j int)
	warmed(e *Engine, ds int)
	tick(e *Engine)
}

type jobRT struct {
	uses     []int // dataset indices, parallel to Job.Datasets
	waiting  bool
	released bool
	runStart float64
	pos      []int64 // bytes read so far, per use
	ridx     int     // position in Engine.running
}

// Engine is one simulation run.
type Engine struct {
	Phys    Physics
	Jobs    []Job
	now     float64
	c       *cache
	jobs    []jobRT
	warming []int
	isWarm  []bool // dataset is being warmed
	waitQ   []int  // jobs waiting in a prolog
	running []int  // jobs past their prolog, reading
	res     Result
	readEMA float64 // object-storage read-miss bandwidth, bytes/s, ~1h average
	pol     policy
}

type endEv struct {
	t float64
	j int
}
type endHeap []endEv

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(a, b int) bool { return h[a].t < h[b].t }
func (h endHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(endEv)) }
func (h *endHeap) Pop() any          { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

// Run replays jobs (sorted by submit) under the named policy: none, fifo,
// accel or oracle. opts configures accel (nil = defaults).
func Run(jobs []Job, ph Physics, policyName string, opts *AccelOptions) (Result, error) {
	wall := time.Now()
	e := &Engine{Phys: ph, Jobs: jobs}
	index := map[string]int{}
	var ds []dataset
	e.jobs = make([]jobRT, len(jobs))
	for k := range jobs {
		for _, u := range jobs[k].Datasets {
			i, ok := index[u.Path]
			if !ok {
				i = len(ds)
				index[u.Path] = i
				ds = append(ds, dataset{path: u.Path, size: u.Bytes})
			}
			e.jobs[k].uses = append(e.jobs[k].uses, i)
		}
	}
	e.c = newCache(ph.CacheBytes, ds)
	e.isWarm = make([]bool, len(ds))
	switch policyName {
	case "none":
		e.pol = nonePolicy{}
	case "fifo":
		e.pol = newFIFO(len(ds))
	case "accel", "accel-noeta":
		o := DefaultAccelOptions()
		if opts != nil {
			o = *opts
		}
		if policyName == "accel-noeta" {
			o.PrologETA = false
		}
		e.pol = newAccel(e, o)
	case "oracle":
		e.pol = newOracle(e)
	default:
		return Result{}, fmt.Errorf("unknown policy %q: use none, fifo, accel, accel-noeta or oracle", policyName)
	}
	if ph.Tick <= 0 || ph.Workers <= 0 || ph.CacheBytes <= 0 {
		return Result{}, fmt.Errorf("physics: tick, workers and cache bytes must be > 0")
	}
	e.res.Policy = policyName
	e.res.Jobs = len(jobs)

	starts := make([]int, len(jobs))
	for k := range starts {
		starts[k] = k
	}
	slices.SortStableFunc(starts, func(a, b int) int { return cmp.Compare(jobs[a].Start, jobs[b].Start) })
	var ends endHeap
	si, st := 0, 0
	if len(jobs) > 0 {
		e.now = math.Floor(jobs[0].Submit/ph.Tick) * ph.Tick
	}
	for si < len(jobs) || st < len(jobs) || len(e.waitQ) > 0 || ends.Len() > 0 {
		next := math.Inf(1)
		if si < len(jobs) {
			next = jobs[si].Submit
		}
		if st < len(jobs) {
			next = min(next, jobs[starts[st]].Start)
		}
		if ends.Len() > 0 {
			next = min(next, ends[0].t)
		}
		prev := e.now
		if len(e.warming) == 0 && len(e.waitQ) == 0 && !e.busy() && next > e.now+ph.Tick {
			e.now = math.Floor(next/ph.Tick) * ph.Tick
			if e.now <= prev {
				e.now = prev + ph.Tick
			}
		} else {
			e.now += ph.Tick
		}
		e.advance(prev, e.now)
		for ends.Len() > 0 && ends[0].t <= e.now {
			ev := heap.Pop(&ends).(endEv)
			e.readUpTo(ev.j, ev.t)
			r := e.jobs[ev.j].ridx
			last := e.running[len(e.running)-1]
			e.running[r], e.jobs[last].ridx = last, r
			e.running = e.running[:len(e.running)-1]
			e.pol.ended(e, ev.j)
		}
		for si < len(jobs) && jobs[si].Submit <= e.now {
			e.pol.submit(e, si)
			si++
		}
		for st < len(jobs) && jobs[starts[st]].Start <= e.now {
			j := starts[st]
			st++
			var missing []int
			if e.pol.waits() {
				for _, i := range e.jobs[j].uses {
					if !e.c.ready(i, ph.WarmRatio) {
						missing = append(missing, i)
					}
				}
			}
			if len(missing) == 0 {
				e.release(j, jobs[j].Start, &ends)
				continue
			}
			e.jobs[j].waiting = true
			e.waitQ = append(e.waitQ, j)
			e.pol.prolog(e, j, missing)
		}
		e.checkProlog(&ends)
		e.pol.tick(e)
	}
	e.res.FetchBytes = e.c.fetched
	e.res.EvictBytes = e.c.evicted
	e.res.CachedBytes = e.c.used
	e.res.Wall = time.Since(wall)
	return e.res, nil
}

// giveUp asks the policy whether job j's prolog should stop waiting now.
func (e *Engine) giveUp(j int) bool {
	g, ok := e.pol.(interface{ giveUp(*Engine, int) bool })
	return ok && g.giveUp(e, j)
}

// etaGiveUp is the prolog's answer from warmupd: stop waiting when a missing
// dataset cannot be warm within the bound (prologwait.KeepWaiting). It decides
// only after the scheduler has had one tick to act on the prolog.
func (e *Engine) etaGiveUp(j int) bool {
	job := &e.Jobs[j]
	waited := e.now - job.Start
	if waited < e.Phys.Tick {
		return false
	}
	for _, i := range e.jobs[j].uses {
		d := &e.c.ds[i]
		if e.c.ready(i, e.Phys.WarmRatio) {
			continue
		}
		rate := 0.0
		if e.isWarm[i] {
			rate = e.warmRate()
		}
		if !prologwait.KeepWaiting(d.size-d.cached, rate, secs(waited), secs(e.Phys.PrologWait)) {
			return true
		}
	}
	return false
}

// warmRate is the current bandwidth of one warm-up.
func (e *Engine) warmRate() float64 {
	return min(e.Phys.WarmBW, e.Phys.ObjectBW/float64(max(len(e.warming), 1)))
}

func (e *Engine) busy() bool {
	b, ok := e.pol.(interface{ busy(*Engine) bool })
	return ok && b.busy(e)
}

// checkProlog releases the waiting jobs whose data is ready or whose wait hit the bound.
func (e *Engine) checkProlog(ends *endHeap) {
	keep := e.waitQ[:0]
	for _, j := range e.waitQ {
		job := &e.Jobs[j]
		ready, at := true, job.Start
		for _, i := range e.jobs[j].uses {
			if !e.c.ready(i, e.Phys.WarmRatio) {
				ready = false
				break
			}
			at = max(at, e.c.ds[i].readyAt)
		}
		switch {
		case ready:
			e.release(j, min(at, job.Start+e.Phys.PrologWait), ends)
		case e.giveUp(j):
			e.release(j, e.now, ends)
		case e.now-job.Start >= e.Phys.PrologWait:
			e.res.BoundHits++
			e.release(j, job.Start+e.Phys.PrologWait, ends)
		default:
			keep = append(keep, j)
		}
	}
	e.waitQ = keep
}

// release ends the prolog of job j at time at: its GPUs stop waiting and it
// starts reading its data, evenly over its run time.
func (e *Engine) release(j int, at float64, ends *endHeap) {
	job := &e.Jobs[j]
	rt := &e.jobs[j]
	rt.waiting, rt.released = false, true
	e.res.PrologGPUs += float64(job.GPUs) * max(at-job.Start, 0)
	rt.runStart = at
	rt.pos = make([]int64, len(rt.uses))
	rt.ridx = len(e.running)
	e.running = append(e.running, j)
	heap.Push(ends, endEv{t: at + job.Duration, j: j})
	e.pol.released(e, j)
	e.readUpTo(j, e.now)
}

// readUpTo makes job j read what it has read by time t. The cached part of a
// dataset is a prefix; a job reads from offset 0 on, hits what is cached and
// fetches the rest from object storage into the cache (fill on read).
func (e *Engine) readUpTo(j int, t float64) {
	job := &e.Jobs[j]
	rt := &e.jobs[j]
	frac := 1.0
	if job.Duration > 0 {
		frac = min(max((t-rt.runStart)/job.Duration, 0), 1)
	}
	for k, i := range rt.uses {
		want := int64(job.Datasets[k].Read * float64(e.c.ds[i].size))
		to := int64(frac * float64(want))
		if frac == 1 {
			to = want
		}
		n := to - rt.pos[k]
		if n <= 0 {
			continue
		}
		d := &e.c.ds[i]
		var hit int64
		if rt.pos[k] < d.cached {
			hit = min(d.cached, to) - rt.pos[k]
		}
		rt.pos[k] = to
		e.res.ReadBytes += n
		e.res.HitBytes += hit
		e.readEMA += float64(n-hit) / 3600
		e.c.touch(i, e.now)
		e.c.fetch(i, n-hit, e.now)
	}
}

// advance moves warm-ups from t0 to t1 at their fair share of bandwidth.
func (e *Engine) advance(t0, t1 float64) {
	e.readEMA *= math.Exp(-(t1 - t0) / 3600)
	if len(e.warming) == 0 {
		for _, j := range e.running {
			e.readUpTo(j, t1)
		}
		return
	}
	bw := min(e.Phys.WarmBW, e.Phys.ObjectBW/float64(len(e.warming)))
	var done []int
	for _, i := range e.warming {
		d := &e.c.ds[i]
		left := d.size - d.cached
		n := min(int64(bw*(t1-t0)), left)
		e.res.WarmBytes += n
		e.c.fetch(i, n, t1)
		if n == left || e.c.ready(i, 1) {
			d.readyAt = t0 + float64(left)/bw
			done = append(done, i)
		}
	}
	for _, i := range done {
		e.stopWarm(i)
		e.pol.warmed(e, i)
	}
	for _, j := range e.running {
		e.readUpTo(j, t1)
	}
}

// startWarm starts a warm-up of dataset i (a worker must be free).
func (e *Engine) startWarm(i int) {
	if e.isWarm[i] || len(e.warming) >= e.Phys.Workers {
		return
	}
	e.isWarm[i] = true
	e.warming = append(e.warming, i)
}

func (e *Engine) stopWarm(i int) {
	if !e.isWarm[i] {
		return
	}
	e.isWarm[i] = false
	e.warming = slices.DeleteFunc(e.warming, func(x int) bool { return x == i })
}

// evict drops dataset i from the cache (juicefs warmup --evict).
func (e *Engine) evict(i int) {
	e.stopWarm(i)
	e.c.drop(i, e.c.ds[i].cached)
}

func (e *Engine) freeSlots() int { return e.Phys.Workers - len(e.warming) }

// objectLoad is the read-miss load on object storage as a fraction of its bandwidth.
func (e *Engine) objectLoad() float64 { return e.readEMA / e.Phys.ObjectBW }

type nonePolicy struct{}

func (nonePolicy) name() string               { return "none" }
func (nonePolicy) waits() bool                { return false }
func (nonePolicy) submit(*Engine, int)        {}
func (nonePolicy) prolog(*Engine, int, []int) {}
func (nonePolicy) released(*Engine, int)      {}
func (nonePolicy) ended(*Engine, int)         {}
func (nonePolicy) warmed(*Engine, int)        {}
func (nonePolicy) tick(*Engine)               {}
