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
	growAt, lastAt                   time.Time
}

// rates measures warm-up speed per dataset from progress checks, so the
// prolog can tell whether waiting can pay off (an ETA beyond its bound
// means the job should start and read through the cache instead).
type rates struct {
	mu sync.Mutex
	m  map[string]rate
}

func (r *rates) observe(path string, cached int64, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x, ok := r.m[path]
	if !ok {
		x = rate{firstBytes: cached}
	}
	if x.growAt.IsZero() && ok && cached > x.firstBytes {
		x.growBytes, x.growAt = cached, at
	}
	x.lastBytes, x.lastAt = cached, at
	r.m[path] = x
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
