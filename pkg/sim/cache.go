package sim

import "container/heap"

// dataset is the simulated cache state of one dataset path. The cached part
// is modelled as a prefix: a job reading fraction f hits min(cached, f*size)
// and fill-on-read extends the prefix to f*size.
type dataset struct {
	path       string
	size       int64
	cached     int64
	lastAccess float64
	hidx       int // position in the LRU heap, -1 when not cached
	// The last clock step's warm-up: its start, the cached bytes then and
	// its bandwidth (0 when not warming), to tell when it crossed a threshold.
	wt0, wbw float64
	wc0      int64
}

// cache is the simulated JuiceFS block cache: a capacity, and the client's
// own eviction (least recently used first) whenever a write overflows it.
type cache struct {
	capacity, used int64
	ds             []dataset
	lru            lruHeap
	fetched        int64 // bytes fetched from object storage (warm-ups and read misses)
	evicted        int64 // bytes removed from the cache (explicit and LRU)
	// victim, when set, picks the dataset to trim when the cache overflows
	// (the oracle's Belady rule); nil is the client's LRU.
	victim func() int
}

func newCache(capacity int64, ds []dataset) *cache {
	c := &cache{capacity: capacity, ds: ds}
	c.lru.c = c
	for i := range ds {
		ds[i].hidx = -1
	}
	return c
}

func (c *cache) ready(i int, ratio float64) bool {
	return float64(c.ds[i].cached) >= ratio*float64(c.ds[i].size)
}

func (c *cache) touch(i int, t float64) {
	d := &c.ds[i]
	d.lastAccess = t
	if d.hidx >= 0 {
		heap.Fix(&c.lru, d.hidx)
	}
}

// fetch adds n bytes fetched from object storage to dataset i at time t, then
// lets LRU eviction bring the cache back under capacity.
func (c *cache) fetch(i int, n int64, t float64) {
	if n <= 0 {
		return
	}
	d := &c.ds[i]
	d.cached += n
	c.used += n
	c.fetched += n
	d.lastAccess = t
	if d.hidx < 0 {
		heap.Push(&c.lru, i)
	} else {
		heap.Fix(&c.lru, d.hidx)
	}
	for c.used > c.capacity && c.lru.Len() > 0 {
		v := c.lru.idx[0]
		if c.victim != nil {
			v = c.victim()
		}
		c.drop(v, min(c.ds[v].cached, c.used-c.capacity))
	}
}

// drop removes n bytes from the tail of dataset i's cached prefix.
func (c *cache) drop(i int, n int64) {
	d := &c.ds[i]
	n = min(n, d.cached)
	d.cached -= n
	c.used -= n
	c.evicted += n
	if d.cached == 0 && d.hidx >= 0 {
		heap.Remove(&c.lru, d.hidx)
	}
}

// lruHeap orders cached datasets by last access, oldest first.
type lruHeap struct {
	c   *cache
	idx []int
}

func (h *lruHeap) Len() int { return len(h.idx) }
func (h *lruHeap) Less(a, b int) bool {
	x, y := &h.c.ds[h.idx[a]], &h.c.ds[h.idx[b]]
	if x.lastAccess != y.lastAccess {
		return x.lastAccess < y.lastAccess
	}
	return h.idx[a] < h.idx[b]
}
func (h *lruHeap) Swap(a, b int) {
	h.idx[a], h.idx[b] = h.idx[b], h.idx[a]
	h.c.ds[h.idx[a]].hidx = a
	h.c.ds[h.idx[b]].hidx = b
}
func (h *lruHeap) Push(x any) {
	i := x.(int)
	h.c.ds[i].hidx = len(h.idx)
	h.idx = append(h.idx, i)
}
func (h *lruHeap) Pop() any {
	i := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	h.c.ds[i].hidx = -1
	return i
}
