package scheduler

import (
	"sync"
	"time"
)

// rateWindow is how long a warm-up must be seen growing before its speed is
// reported. Parallel warm-up threads complete blocks in bursts, so a short
// look underestimates the speed (and would make prologs give up early).
const rateWindow = 10 * time.Second

// rate is the first sample of a running warm-up, the first sample that
// showed growth, and the latest one.
type rate struct {
	firstBytes, growBytes, lastBytes int64
	firstAt, growAt, lastAt          time.Time
	// fetched and took, once measured (the mount's counters at the end of
	// the warm-up), replace what the progress records suggest.
	fetched int64
	took    time.Duration
	isSet   bool
}

// rates measures warm-up speed per dataset from progress checks, so the
// prolog can tell whether waiting can pay off (an ETA beyond its bound
// means the job should start and read through the cache instead).
type rates struct {
	mu sync.Mutex
	m  map[string]rate
}

// observe records a check of a running warm-up and returns the bytes it
// found cached since the previous check (0 for the first; the metrics'
// bytes warmed).
func (r *rates) observe(path string, cached int64, at time.Time) (grown int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x, ok := r.m[path]
	if !ok || x.firstAt.IsZero() {
		x = rate{firstBytes: cached, firstAt: at, lastBytes: cached, fetched: x.fetched, took: x.took, isSet: x.isSet}
		ok = false
	}
	if x.growAt.IsZero() && ok && cached > x.firstBytes {
		x.growBytes, x.growAt = cached, at
	}
	grown = max(0, cached-x.lastBytes)
	x.lastBytes, x.lastAt = cached, at
	r.m[path] = x
	return grown
}

// measured records what the warm-up of path fetched by the mount's
// counters, and how long it took.
func (r *rates) measured(path string, fetched int64, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x := r.m[path]
	x.fetched, x.took, x.isSet = fetched, took, true
	r.m[path] = x
}

// fetched is what the running warm-up of path brought into the cache so
// far and over how long: measured by the mount's counters when known,
// else the growth its progress records showed (zero when not watched).
func (r *rates) fetched(path string) (int64, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x, ok := r.m[path]
	if !ok {
		return 0, 0
	}
	if x.isSet {
		return x.fetched, x.took
	}
	return max(0, x.lastBytes-x.firstBytes), x.lastAt.Sub(x.firstAt)
}

func (r *rates) forget(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, path)
}

// Rate is the measured warm-up speed of dataset in bytes/s, from the first
// progress check that showed growth to the latest; 0 when it is not warming
// or has not been watched growing for rateWindow yet.
func (s *Scheduler) Rate(dataset string) float64 {
	s.rates.mu.Lock()
	defer s.rates.mu.Unlock()
	x, ok := s.rates.m[dataset]
	if !ok || x.growAt.IsZero() || x.lastAt.Sub(x.growAt) < rateWindow || x.lastBytes <= x.growBytes {
		return 0
	}
	return float64(x.lastBytes-x.growBytes) / x.lastAt.Sub(x.growAt).Seconds()
}
