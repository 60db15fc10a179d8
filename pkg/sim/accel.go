package sim

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
)

// AccelOptions configures the accel policy: the real planner configuration
// plus what the daemon would compute around it.
type AccelOptions struct {
	Planner planner.Config
	// HistoryHalfLife is the half-life of the decayed use count (seconds).
	HistoryHalfLife float64
	// ActiveBudgetFrac sets the planner's per-window active budget as a
	// fraction of the cache when Planner.ActiveBudgetBytes is 0.
	ActiveBudgetFrac float64
	// ReplanEvery forces a plan every this many ticks even when nothing changed.
	ReplanEvery int
	// PrologETA lets a prolog stop waiting when the warm-up cannot finish
	// within the bound (prologwait.KeepWaiting); false waits to the bound like fifo.
	PrologETA bool
	// SubmitLead, when > 0, delays a job's request to warmupd until this many
	// seconds before its expected start (the stagein policy: burst_buffer/lua's
	// slurm_bb_data_in); 0 sends it at submit (the SPANK plugin).
	SubmitLead float64
}

// DefaultAccelOptions is warmupd's default configuration with
// ActiveWindows=22:00-06:00.
func DefaultAccelOptions() AccelOptions {
	c := planner.DefaultConfig()
	c.ActiveWindows, _ = planner.ParseWindows("22:00-06:00")
	return AccelOptions{Planner: c, HistoryHalfLife: 7 * 86400, ActiveBudgetFrac: 0.25, ReplanEvery: 10, PrologETA: true}
}

type pend struct {
	job int
	exp float64
}

type accelDS struct {
	state       api.TaskState
	queuedSince float64
	pending     []pend
	prolog      int
	running     int
	hist, histT float64
	lastUsed    float64
	active      bool
}

// accel is accel-data's policy: the daemon's bookkeeping around planner.Plan.
type accel struct {
	o           AccelOptions
	d           []accelDS
	counted     map[int][]int // job -> datasets whose prolog counter it raised
	queued      int
	pendingJobs int
	dirty       bool
	sincePlan   int
	winStart    time.Time
	activeUsed  int64
	snap        []planner.Dataset
	starts      []time.Time
	deferred    []int // jobs whose request waits for SubmitLead, by due time
	isDeferred  map[int]bool
}

func newAccel(e *Engine, o AccelOptions) *accel {
	if o.Planner.ActiveBudgetBytes == 0 {
		o.Planner.ActiveBudgetBytes = int64(o.ActiveBudgetFrac * float64(e.c.capacity))
	}
	return &accel{o: o, d: make([]accelDS, len(e.c.ds)), counted: map[int][]int{}, isDeferred: map[int]bool{}}
}

func (a *accel) name() string {
	if a.o.SubmitLead > 0 {
		return "stagein"
	}
	return "accel"
}
func (a *accel) waits() bool { return true }

func (a *accel) setState(i int, s api.TaskState, now float64) {
	old := a.d[i].state
	if old == api.TaskQueued {
		a.queued--
	}
	if s == api.TaskQueued {
		a.queued++
		if old != api.TaskQueued {
			a.d[i].queuedSince = now
		}
	}
	a.d[i].state = s
	a.dirty = true
}

func (a *accel) request(e *Engine, i int) {
	if s := a.d[i].state; s != api.TaskQueued && s != api.TaskWarming {
		a.setState(i, api.TaskQueued, e.now)
	}
	a.d[i].active = false
}

// due is when job j's request reaches warmupd.
func (a *accel) due(e *Engine, j int) float64 {
	return max(e.Jobs[j].Submit, e.Jobs[j].Expected()-a.o.SubmitLead)
}

func (a *accel) submit(e *Engine, j int) {
	a.pendingJobs++
	if a.o.SubmitLead > 0 && a.due(e, j) > e.now {
		k, _ := slices.BinarySearchFunc(a.deferred, a.due(e, j), func(x int, t float64) int { return cmp.Compare(a.due(e, x), t) })
		a.deferred = slices.Insert(a.deferred, k, j)
		a.isDeferred[j] = true
		return
	}
	a.send(e, j)
}

// send sends job j's datasets to warmupd.
func (a *accel) send(e *Engine, j int) {
	delete(a.isDeferred, j)
	for _, i := range e.jobs[j].uses {
		a.d[i].pending = append(a.d[i].pending, pend{job: j, exp: e.Jobs[j].Expected()})
		a.request(e, i)
	}
}

func (a *accel) prolog(e *Engine, j int, missing []int) {
	if a.isDeferred[j] { // it starts before its stage-in was due
		a.send(e, j)
	}
	for _, i := range missing {
		a.d[i].prolog++
		a.request(e, i)
	}
	a.counted[j] = missing
}

func (a *accel) needed(i int) bool {
	x := &a.d[i]
	return x.running > 0 || x.prolog > 0 || len(x.pending) > 0
}

// dropIfUnwanted cancels a task that no job needs any more.
func (a *accel) dropIfUnwanted(e *Engine, i int) {
	if a.needed(i) || a.d[i].active {
		return
	}
	switch a.d[i].state {
	case api.TaskQueued:
		a.setState(i, api.TaskCancelled, e.now)
	case api.TaskWarming:
		e.stopWarm(i)
		a.setState(i, api.TaskCancelled, e.now)
	}
}

func (a *accel) released(e *Engine, j int) {
	a.pendingJobs--
	delete(a.isDeferred, j)
	for _, i := range a.counted[j] {
		a.d[i].prolog--
	}
	delete(a.counted, j)
	for _, i := range e.jobs[j].uses {
		x := &a.d[i]
		for k, p := range x.pending {
			if p.job == j {
				x.pending = append(x.pending[:k], x.pending[k+1:]...)
				break
			}
		}
		x.running++
		x.hist = a.history(i, e.now) + 1
		x.histT = e.now
		x.lastUsed = e.now
	}
	a.dirty = true
}

func (a *accel) ended(e *Engine, j int) {
	for _, i := range e.jobs[j].uses {
		a.d[i].running--
		a.dropIfUnwanted(e, i)
	}
	a.dirty = true
}

func (a *accel) warmed(e *Engine, i int) {
	a.d[i].active = false
	a.setState(i, api.TaskWarm, e.now)
	a.dropIfUnwanted(e, i)
}

func (a *accel) history(i int, now float64) float64 {
	x := &a.d[i]
	return x.hist * math.Exp2(-(now-x.histT)/a.o.HistoryHalfLife)
}

// giveUp is the prolog's answer from warmupd (see Engine.etaGiveUp).
func (a *accel) giveUp(e *Engine, j int) bool { return a.o.PrologETA && e.etaGiveUp(j) }

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// busy keeps the clock ticking while work is queued or jobs are pending (the
// daemon's scheduler and checks run on a timer).
func (a *accel) busy(*Engine) bool { return a.queued > 0 || a.pendingJobs > 0 }

// check is the daemon's periodic `warmup --check`: a dataset marked warm
// that a job still needs but the client's own LRU has thinned is queued again.
func (a *accel) check(e *Engine) {
	for i := range a.d {
		if a.d[i].state == api.TaskWarm && a.needed(i) && !e.c.ready(i, e.Phys.WarmRatio) {
			a.setState(i, api.TaskQueued, e.now)
		}
	}
}

func (a *accel) tick(e *Engine) {
	for len(a.deferred) > 0 && a.due(e, a.deferred[0]) <= e.now {
		if j := a.deferred[0]; a.isDeferred[j] {
			a.send(e, j)
		}
		a.deferred = a.deferred[1:]
	}
	a.sincePlan++
	if a.sincePlan >= a.o.ReplanEvery {
		a.check(e)
	}
	slots := e.freeSlots()
	now := Epoch.Add(time.Duration(e.now * float64(time.Second)))
	ws, inWin := planner.WindowStart(a.o.Planner.ActiveWindows, now)
	if inWin && !ws.Equal(a.winStart) {
		a.winStart, a.activeUsed = ws, 0
	}
	if slots == 0 || (a.queued == 0 && !inWin) {
		return
	}
	if !a.dirty && a.sincePlan < a.o.ReplanEvery {
		return
	}
	a.dirty, a.sincePlan = false, 0
	a.snap, a.starts = a.snap[:0], a.starts[:0]
	minHist := a.o.Planner.ActiveMinHistory
	for i := range a.d {
		x := &a.d[i]
		d := &e.c.ds[i]
		live := x.state == api.TaskQueued || x.state == api.TaskWarming
		h := a.history(i, e.now)
		if !live && !a.needed(i) && d.cached == 0 && !(inWin && h >= minHist) {
			continue
		}
		st := len(a.starts)
		for _, p := range x.pending {
			a.starts = append(a.starts, Epoch.Add(time.Duration(p.exp*float64(time.Second))))
		}
		a.snap = append(a.snap, planner.Dataset{
			ID: int64(i), Path: d.path, Bytes: d.size, CachedBytes: d.cached, State: x.state,
			QueuedSince: Epoch.Add(time.Duration(x.queuedSince * float64(time.Second))),
			RunningJobs: x.running, PrologWaiting: x.prolog, PendingStarts: a.starts[st:len(a.starts):len(a.starts)],
			History: h, HitRate: -1, LastUsed: Epoch.Add(time.Duration(x.lastUsed * float64(time.Second))),
		})
	}
	dec := planner.Plan(planner.Snapshot{Datasets: a.snap, CapacityBytes: e.c.capacity, UsedBytes: e.c.used,
		FreeSlots: slots, ObjectStoreLoad: e.objectLoad(), ActiveBytesUsed: a.activeUsed}, a.o.Planner, now)
	for _, id := range dec.MarkWarm {
		a.setState(int(id), api.TaskWarm, e.now)
	}
	for _, ev := range dec.Evictions {
		e.evict(int(ev.ID))
		a.setState(int(ev.ID), api.TaskEvicted, e.now)
	}
	for _, s := range dec.Starts {
		e.startWarm(int(s.ID))
		a.setState(int(s.ID), api.TaskWarming, e.now)
	}
	for _, s := range dec.Active {
		e.startWarm(int(s.ID))
		a.setState(int(s.ID), api.TaskWarming, e.now)
		a.d[s.ID].active = true
		a.activeUsed += s.Bytes
	}
}
