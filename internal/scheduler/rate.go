package scheduler

import (
	"sync"
	"time"
)

// rate is the first and latest progress sample of a running warm-up.
type rate struct {
	firstBytes, lastBytes int64
	firstAt, lastAt       time.Time
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
		x = rate{firstBytes: cached, firstAt: at}
	}
	x.lastBytes, x.lastAt = cached, at
	r.m[path] = x
}

func (r *rates) forget(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, path)
}

// Rate is the measured warm-up speed of dataset in bytes/s, 0 when it is
// not warming or not measured yet.
func (s *Scheduler) Rate(dataset string) float64 {
	s.rates.mu.Lock()
	defer s.rates.mu.Unlock()
	x, ok := s.rates.m[dataset]
	if !ok || !x.lastAt.After(x.firstAt) || x.lastBytes <= x.firstBytes {
		return 0
	}
	return float64(x.lastBytes-x.firstBytes) / x.lastAt.Sub(x.firstAt).Seconds()
}
