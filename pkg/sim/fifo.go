package sim

// fifo warms every dataset named at submit (and at prolog, if it was lost
// since) in arrival order, with no cache guard: when the cache is full the
// client's LRU eviction makes room, whatever it evicts.
type fifo struct {
	q    []int
	head int
	inQ  []bool
}

func newFIFO(n int) *fifo { return &fifo{inQ: make([]bool, n)} }

func (f *fifo) name() string { return "fifo" }
func (f *fifo) waits() bool  { return true }
func (f *fifo) enqueue(e *Engine, i int) {
	if f.inQ[i] || e.isWarm[i] || e.c.ready(i, e.Phys.WarmRatio) {
		return
	}
	f.inQ[i] = true
	f.q = append(f.q, i)
}
func (f *fifo) submit(e *Engine, j int) {
	for _, i := range e.jobs[j].uses {
		f.enqueue(e, i)
	}
}
func (f *fifo) prolog(e *Engine, _ int, missing []int) {
	for _, i := range missing {
		f.enqueue(e, i)
	}
}
func (f *fifo) released(*Engine, int) {}
func (f *fifo) ended(*Engine, int)    {}
func (f *fifo) warmed(*Engine, int)   {}
func (f *fifo) busy(*Engine) bool     { return f.head < len(f.q) }
func (f *fifo) tick(e *Engine) {
	for e.freeSlots() > 0 && f.head < len(f.q) {
		i := f.q[f.head]
		f.head++
		f.inQ[i] = false
		if !e.c.ready(i, e.Phys.WarmRatio) {
			e.startWarm(i)
		}
	}
	if f.head > 4096 && f.head*2 > len(f.q) {
		f.q = append(f.q[:0], f.q[f.head:]...)
		f.head = 0
	}
}
