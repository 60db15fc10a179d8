package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accel-data/accel-data/pkg/prologwait"
)

// Physics is the simulated JuiceFS and cluster, the same for every policy.
type Physics struct {
	// CacheBytes is the cache capacity.
	CacheBytes int64
	// ObjectBW is the object-storage bandwidth (bytes/s), shared fairly by
	// warm-ups and by jobs reading misses; WarmBW caps one warm-up and
	// ClientBW one node's reads of misses (a job on N nodes reads at N×ClientBW).
	ObjectBW, WarmBW, ClientBW float64
	// Workers is the number of concurrent warm-ups.
	Workers int
	// PrologWait bounds how long a prolog holds a job's GPUs waiting for its data.
	PrologWait float64
	// WarmRatio: a dataset at or above this cached ratio is ready.
	WarmRatio float64
	// ReleaseAt, when > 0, releases a job when the first ReleaseAt of the part
	// it reads (a prefix: directory order) is cached instead of the whole
	// dataset at WarmRatio; 1 is first-epoch (all of what the job reads).
	ReleaseAt float64
	// StageInWait bounds how long a stagein job stays pending for its data.
	StageInWait float64
	// Tick is the clock step in seconds (the scheduler interval).
	Tick float64
}

// DefaultPhysics returns the physics used for the reference results; the
// cache size is set by the caller.
func DefaultPhysics() Physics {
	return Physics{ObjectBW: 8 << 30, WarmBW: 2 << 30, ClientBW: 1 << 30, Workers: 8, PrologWait: 600, WarmRatio: 0.99,
		StageInWait: 3600, Tick: 60}
}

// Result holds one policy's figures.
type Result struct {
	Policy      string
	Jobs        int
	ReadBytes   int64   // bytes jobs read
	HitBytes    int64   // of which served from the cache
	FetchBytes  int64   // bytes fetched from object storage (warm-ups + read misses)
	WarmBytes   int64   // of which by warm-ups
	EvictBytes  int64   // bytes evicted (explicit + LRU)
	CachedBytes int64   // bytes in the cache at the end
	PrologGPUs  float64 // GPU-seconds held by prologs waiting for data
	SlowGPUs    float64 // GPU-seconds lost to reads of misses slower than the job consumes
	BoundHits   int     // prologs (or stage-ins) that hit their bound
	StartDelay  float64 // seconds jobs started later than Slurm would have started them (stagein)
	DelayGPUs   float64 // the same weighted by the jobs' GPUs (GPU-seconds)
	Delayed     int     // jobs whose start was delayed
	Wall        time.Duration
}

// WasteGPUs is the GPU-seconds lost waiting for data: held in prologs plus slow reads.
func (r Result) WasteGPUs() float64 { return r.PrologGPUs + r.SlowGPUs }

// MeanDelay is the mean start delay per job, seconds.
func (r Result) MeanDelay() float64 {
	if r.Jobs == 0 {
		return 0
	}
	return r.StartDelay / float64(r.Jobs)
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
	waits() bool // whether jobs wait for data at all
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
	at       float64 // time up to which the job's progress is computed
	prog     float64 // fraction of the job's work done, 0..1
	rho      float64 // fraction of the work during which it reads (1: evenly over the run)
	pos      []int64 // bytes read so far, per use
	ridx     int     // position in Engine.running
	endAt    float64
}

// Engine is one simulation run.
type Engine struct {
	Phys     Physics
	Jobs     []Job
	now      float64
	prev     float64 // the previous clock step
	c        *cache
	jobs     []jobRT
	warming  []int
	isWarm   []bool  // dataset is being warmed
	target   []int64 // bytes a warm-up of the dataset stops at
	waitQ    []int   // jobs waiting for data (prolog, or pending in stage-in)
	running  []int   // jobs past their prolog, reading
	stagein  bool    // jobs wait pending (no GPUs held) instead of in the prolog
	cold     int     // running jobs reading misses at the last step
	res      Result
	readEMA  float64 // object-storage read-miss bandwidth, bytes/s, ~1h average
	pol      policy
	finished []int
}

// Policies lists the policy names Run accepts.
var Policies = []string{"none", "fifo", "accel", "accel-noeta", "stagein", "stagein-eta", "oracle"}

// Run replays jobs (sorted by submit) under the named policy (see Policies).
// opts configures accel and stagein (nil = defaults).
func Run(jobs []Job, ph Physics, policyName string, opts *AccelOptions) (Result, error) {
	wall := time.Now()
	e := &Engine{Phys: ph, Jobs: jobs}
	index := map[string]int{}
	var ds []dataset
	e.jobs = make([]jobRT, len(jobs))
	for k := range jobs {
		var read int64
		for _, u := range jobs[k].Datasets {
			i, ok := index[u.Path]
			if !ok {
				i = len(ds)
				index[u.Path] = i
				ds = append(ds, dataset{path: u.Path, size: u.Bytes})
			}
			e.jobs[k].uses = append(e.jobs[k].uses, i)
			read += int64(u.Read * float64(u.Bytes))
		}
		e.jobs[k].rho = 1
		if r := jobs[k].ReadRate; r > 0 && jobs[k].Duration > 0 {
			e.jobs[k].rho = min(float64(read)/r/jobs[k].Duration, 1)
		}
	}
	e.c = newCache(ph.CacheBytes, ds)
	e.isWarm = make([]bool, len(ds))
	e.target = make([]int64, len(ds))
	for i := range ds {
		e.target[i] = ds[i].size
	}
	o := DefaultAccelOptions()
	if opts != nil {
		o = *opts
	}
	switch policyName {
	case "none":
		e.pol = nonePolicy{}
	case "fifo":
		e.pol = newFIFO(len(ds))
	case "accel", "accel-noeta":
		if policyName == "accel-noeta" {
			o.PrologETA = false
		}
		e.pol = newAccel(e, o)
	case "stagein", "stagein-eta":
		// A stage-in holds no GPU: it waits to its deadline unless the
		// ablation stagein-eta gives up as accel's prolog does.
		o.PrologETA = policyName == "stagein-eta"
		o.SubmitLead = StageInLead
		e.stagein = true
		e.pol = newAccel(e, o)
	case "oracle":
		e.pol = newOracle(e)
	default:
		return Result{}, fmt.Errorf("unknown policy %q: use %s", policyName, strings.Join(Policies, ", "))
	}
	if ph.Tick <= 0 || ph.Workers <= 0 || ph.CacheBytes <= 0 || ph.ObjectBW <= 0 || ph.ClientBW <= 0 {
		return Result{}, fmt.Errorf("physics: tick, workers, cache bytes and bandwidths must be > 0")
	}
	e.res.Policy = policyName
	e.res.Jobs = len(jobs)

	starts := make([]int, len(jobs))
	for k := range starts {
		starts[k] = k
	}
	slices.SortStableFunc(starts, func(a, b int) int { return cmp.Compare(jobs[a].Start, jobs[b].Start) })
	si, st := 0, 0
	if len(jobs) > 0 {
		e.now = math.Floor(jobs[0].Submit/ph.Tick) * ph.Tick
	}
	for si < len(jobs) || st < len(jobs) || len(e.waitQ) > 0 || len(e.running) > 0 {
		next := math.Inf(1)
		if si < len(jobs) {
			next = jobs[si].Submit
		}
		if st < len(jobs) {
			next = min(next, jobs[starts[st]].Start)
		}
		for _, j := range e.running { // its end if it reads nothing slowly: a lower bound
			next = min(next, e.jobs[j].at+(1-e.jobs[j].prog)*jobs[j].Duration)
		}
		e.prev = e.now
		if len(e.warming) == 0 && len(e.waitQ) == 0 && e.cold == 0 && !e.busy() && next > e.now+ph.Tick {
			e.now = math.Floor(next/ph.Tick) * ph.Tick
			if e.now <= e.prev {
				e.now = e.prev + ph.Tick
			}
		} else {
			e.now += ph.Tick
		}
		e.advance(e.prev, e.now)
		e.finish()
		for si < len(jobs) && jobs[si].Submit <= e.now {
			e.pol.submit(e, si)
			si++
		}
		for st < len(jobs) && jobs[starts[st]].Start <= e.now {
			j := starts[st]
			st++
			var missing []int
			if e.pol.waits() {
				for k, i := range e.jobs[j].uses {
					if !e.useReady(j, k) {
						missing = append(missing, i)
					}
				}
			}
			if len(missing) == 0 {
				e.release(j, jobs[j].Start)
				continue
			}
			e.jobs[j].waiting = true
			e.waitQ = append(e.waitQ, j)
			e.pol.prolog(e, j, missing)
		}
		e.checkProlog()
		e.finish()
		e.pol.tick(e)
	}
	e.res.FetchBytes = e.c.fetched
	e.res.EvictBytes = e.c.evicted
	e.res.CachedBytes = e.c.used
	e.res.Wall = time.Since(wall)
	return e.res, nil
}

// ParseReleaseAt reads a ReleaseAt value: "" or "off" (wait for the whole
// dataset), "first-epoch" (the whole part the job reads), or a ratio in (0, 1]
// of that part.
func ParseReleaseAt(s string) (float64, error) {
	switch s {
	case "", "off":
		return 0, nil
	case "first-epoch":
		return 1, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r <= 0 || r > 1 {
		return 0, fmt.Errorf("release-at %q: use off, first-epoch or a ratio in (0, 1], e.g. 0.25", s)
	}
	return r, nil
}

// FormatReleaseAt is the inverse of ParseReleaseAt.
func FormatReleaseAt(r float64) string {
	switch r {
	case 0:
		return "off"
	case 1:
		return "first-epoch"
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}

// StageInLead is how long before its expected start Slurm's burst_buffer/lua
// begins a job's stage-in (../shared/docs/slurm-facts.md: at most 10 h).
const StageInLead = 10 * 3600

// need is the number of bytes of use k of job j that must be cached for the
// job to be released: the dataset at WarmRatio, or with ReleaseAt the first
// ReleaseAt of the part the job reads.
func (e *Engine) need(j, k int) int64 {
	size := e.c.ds[e.jobs[j].uses[k]].size
	if e.Phys.ReleaseAt <= 0 {
		return int64(math.Ceil(e.Phys.WarmRatio * float64(size)))
	}
	return int64(math.Ceil(e.Phys.ReleaseAt * e.Jobs[j].Datasets[k].Read * float64(size)))
}

func (e *Engine) useReady(j, k int) bool { return e.c.ds[e.jobs[j].uses[k]].cached >= e.need(j, k) }

// readyAt is when job j's data became ready within the last clock step: the
// moment each warm-up crossed the job's need, at the earliest the job's start.
func (e *Engine) readyAt(j int) float64 {
	at := e.Jobs[j].Start
	for k, i := range e.jobs[j].uses {
		d := &e.c.ds[i]
		x := e.prev
		if d.wbw > 0 && d.wt0 == e.prev {
			x = e.prev + max(float64(e.need(j, k)-d.wc0), 0)/d.wbw
		}
		at = max(at, min(x, e.now))
	}
	return at
}

// giveUp asks the policy whether job j should stop waiting now.
func (e *Engine) giveUp(j int) bool {
	g, ok := e.pol.(interface{ giveUp(*Engine, int) bool })
	return ok && g.giveUp(e, j)
}

// bound is how long a job may wait for its data: the prolog bound, or the
// stage-in deadline.
func (e *Engine) bound() float64 {
	if e.stagein {
		return e.Phys.StageInWait
	}
	return e.Phys.PrologWait
}

// etaGiveUp is the prolog's answer from warmupd: stop waiting when a missing
// dataset cannot be ready within the bound (prologwait.KeepWaiting). It decides
// only after the scheduler has had one tick to act on the prolog.
func (e *Engine) etaGiveUp(j int) bool {
	job := &e.Jobs[j]
	waited := e.now - job.Start
	if waited < e.Phys.Tick {
		return false
	}
	for k, i := range e.jobs[j].uses {
		if e.useReady(j, k) {
			continue
		}
		rate := 0.0
		if e.isWarm[i] {
			rate = e.warmRate()
		}
		if !prologwait.KeepWaiting(e.need(j, k)-e.c.ds[i].cached, rate, secs(waited), secs(e.bound())) {
			return true
		}
	}
	return false
}

// share is one object-storage stream's fair share of its bandwidth.
func (e *Engine) share() float64 {
	return e.Phys.ObjectBW / float64(max(len(e.warming)+e.cold, 1))
}

// warmRate is the current bandwidth of one warm-up.
func (e *Engine) warmRate() float64 { return min(e.Phys.WarmBW, e.share()) }

func (e *Engine) busy() bool {
	b, ok := e.pol.(interface{ busy(*Engine) bool })
	return ok && b.busy(e)
}

// checkProlog releases the waiting jobs whose data is ready or whose wait hit the bound.
func (e *Engine) checkProlog() {
	keep := e.waitQ[:0]
	bound := e.bound()
	for _, j := range e.waitQ {
		job := &e.Jobs[j]
		ready := true
		for k := range e.jobs[j].uses {
			if !e.useReady(j, k) {
				ready = false
				break
			}
		}
		switch {
		case ready:
			e.release(j, min(e.readyAt(j), job.Start+bound))
		case e.giveUp(j):
			e.release(j, e.now)
		case e.now-job.Start >= bound:
			e.res.BoundHits++
			e.release(j, job.Start+bound)
		default:
			keep = append(keep, j)
		}
	}
	e.waitQ = keep
}

// release ends job j's wait at time at: a prolog's GPUs stop waiting (a
// stage-in's job starts, late), and it starts reading its data.
func (e *Engine) release(j int, at float64) {
	job := &e.Jobs[j]
	rt := &e.jobs[j]
	rt.waiting, rt.released = false, true
	if wait := max(at-job.Start, 0); e.stagein {
		e.res.StartDelay += wait
		e.res.DelayGPUs += float64(job.GPUs) * wait
		if wait > 0 {
			e.res.Delayed++
		}
	} else {
		e.res.PrologGPUs += float64(job.GPUs) * wait
	}
	rt.runStart, rt.at = at, at
	rt.pos = make([]int64, len(rt.uses))
	rt.ridx = len(e.running)
	e.running = append(e.running, j)
	e.pol.released(e, j)
	e.progress(j, e.now)
}

// finish ends the jobs whose work is done, in the order they ended.
func (e *Engine) finish() {
	e.finished = e.finished[:0]
	for _, j := range e.running {
		if e.jobs[j].prog >= 1 {
			e.finished = append(e.finished, j)
		}
	}
	slices.SortFunc(e.finished, func(a, b int) int {
		return cmp.Or(cmp.Compare(e.jobs[a].endAt, e.jobs[b].endAt), cmp.Compare(a, b))
	})
	for _, j := range e.finished {
		rt := &e.jobs[j]
		e.res.SlowGPUs += float64(e.Jobs[j].GPUs) * max(rt.endAt-rt.runStart-e.Jobs[j].Duration, 0)
		r := rt.ridx
		last := e.running[len(e.running)-1]
		e.running[r], e.jobs[last].ridx = last, r
		e.running = e.running[:len(e.running)-1]
		e.pol.ended(e, j)
	}
}

// progress runs job j from its last time to t. A job reads the part of each
// dataset it uses from offset 0 on, during the first rho of its work. While
// the bytes it reaches are cached it runs at full speed; past the cached
// prefix of a dataset it reads misses at its share of object storage
// (fill on read), and runs slower when that is below what it consumes.
func (e *Engine) progress(j int, t float64) {
	job := &e.Jobs[j]
	rt := &e.jobs[j]
	for dt := t - rt.at; dt > 1e-9 && rt.prog < 1; {
		if job.Duration <= 0 {
			rt.prog, rt.endAt = 1, rt.at
			break
		}
		full := 1 / job.Duration // work per second at full speed
		if rt.prog >= rt.rho {   // done reading
			if left := (1 - rt.prog) / full; dt >= left {
				rt.prog, rt.at, rt.endAt = 1, rt.at+left, rt.at+left
				break
			}
			rt.prog, rt.at, dt = rt.prog+dt*full, rt.at+dt, 0
			continue
		}
		q := rt.prog / rt.rho // position in the read part
		hot, coldBytes := 1.0, 0.0
		for k, i := range rt.uses {
			w := job.Datasets[k].Read * float64(e.c.ds[i].size)
			h := float64(e.c.ds[i].cached) / w
			if h <= q+1e-12 {
				coldBytes += w
			}
			hot = min(hot, h)
		}
		var step, dq float64
		if coldBytes == 0 { // run to the end of the cached prefix
			step = min(dt, (min(hot, 1)-q)*rt.rho/full)
			dq = step * full / rt.rho
		} else { // read misses: as fast as the job consumes, or the misses come
			rate := min(float64(max(job.Nodes, 1))*e.Phys.ClientBW, e.share())
			speed := min(full/rt.rho, rate/coldBytes) // read-part per second
			step = min(dt, (1-q)/speed)
			dq = step * speed
		}
		if step <= 1e-9 {
			step, dq = dt, 0
		}
		qn := q + dq
		if qn >= 1-1e-12 {
			qn = 1
		}
		rt.prog = qn * rt.rho
		rt.at += step
		dt -= step
		e.read(j, qn)
		if rt.prog >= 1 {
			rt.endAt = rt.at
		}
	}
}

// read moves job j's read position to q (a fraction of the part of each
// dataset it reads): bytes inside the cached prefix are hits, the rest is
// fetched from object storage into the cache.
func (e *Engine) read(j int, q float64) {
	job := &e.Jobs[j]
	rt := &e.jobs[j]
	for k, i := range rt.uses {
		want := int64(job.Datasets[k].Read * float64(e.c.ds[i].size))
		to := int64(q * float64(want))
		if q >= 1 {
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

// readingCold reports whether running job j is reading past a cached prefix.
func (e *Engine) readingCold(j int) bool {
	rt := &e.jobs[j]
	if rt.prog >= rt.rho {
		return false
	}
	for k, i := range rt.uses {
		if rt.pos[k] >= e.c.ds[i].cached && rt.pos[k] < int64(e.Jobs[j].Datasets[k].Read*float64(e.c.ds[i].size)) {
			return true
		}
	}
	return false
}

// advance moves warm-ups from t0 to t1 at their fair share of bandwidth, then the running jobs.
func (e *Engine) advance(t0, t1 float64) {
	e.readEMA *= math.Exp(-(t1 - t0) / 3600)
	e.cold = 0
	for _, j := range e.running {
		if e.readingCold(j) {
			e.cold++
		}
	}
	bw := e.warmRate()
	var done []int
	for _, i := range e.warming {
		d := &e.c.ds[i]
		left := max(e.target[i]-d.cached, 0)
		n := min(int64(bw*(t1-t0)), left)
		d.wt0, d.wc0, d.wbw = t0, d.cached, bw
		e.res.WarmBytes += n
		e.c.fetch(i, n, t1)
		if n == left || d.cached >= e.target[i] {
			done = append(done, i)
		}
	}
	for _, i := range done {
		e.stopWarm(i)
		e.pol.warmed(e, i)
	}
	for _, j := range e.running {
		e.progress(j, t1)
	}
}

// startWarm starts a warm-up of dataset i to its whole size (a worker must be free).
func (e *Engine) startWarm(i int) { e.startWarmTo(i, e.c.ds[i].size) }

// startWarmTo starts a warm-up of the first n bytes of dataset i.
func (e *Engine) startWarmTo(i int, n int64) {
	if e.isWarm[i] || len(e.warming) >= e.Phys.Workers {
		return
	}
	e.isWarm[i] = true
	e.target[i] = min(n, e.c.ds[i].size)
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
