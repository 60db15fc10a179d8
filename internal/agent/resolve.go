package agent

import (
	"context"
	"sync"
	"time"
)

// Resolver finds the path of inodes the access log showed no lookup for
// (the kernel had the name cached before the agent started) by asking the
// mount (`juicefs info --inode`), bounded: at most Rate look-ups per second
// (a token bucket holding at most one second's worth), at most Concurrency
// at once, each at most Timeout; an inode whose look-up failed is not asked
// again for NegativeTTL (remembered in a bounded LRU). Start never blocks:
// the look-up runs in its own goroutine and done is called with its result.
type Resolver struct {
	// Info returns the inode's path relative to the mount and its length
	// (-1: unknown), e.g. jfs.Driver.InfoInode run inside the mount.
	Info        func(ctx context.Context, ino uint64) (string, int64, error)
	Rate        float64 // look-ups per second; ≤ 0: none
	Concurrency int     // look-ups at once (default 4)
	Timeout     time.Duration
	NegativeTTL time.Duration
	Now         func() time.Time
	Metrics     *Metrics

	mu       sync.Mutex
	inflight int
	tokens   float64
	last     time.Time
	failed   *lru[uint64, time.Time]
}

// Resolver defaults.
const (
	DefaultInfoTimeout     = 10 * time.Second
	DefaultInfoNegativeTTL = 5 * time.Minute
	negativeMax            = 65536
)

// Start asks for ino's path in the background and calls done with the
// result, unless it cannot ask now (off, a recent failure, over the rate or
// the concurrency cap): then it returns false and done is never called.
func (r *Resolver) Start(ctx context.Context, ino uint64, done func(rel string, length int64, ok bool)) bool {
	if r == nil || r.Info == nil || r.Rate <= 0 {
		return false
	}
	r.mu.Lock()
	now := r.Now()
	if r.failed == nil {
		r.failed = newLRU[uint64, time.Time](negativeMax)
	}
	if at, ok := r.failed.get(ino); ok {
		if now.Sub(at) < r.NegativeTTL {
			r.mu.Unlock()
			return false
		}
		r.failed.remove(ino)
	}
	r.tokens = min(max(r.Rate, 1), r.tokens+now.Sub(r.last).Seconds()*r.Rate)
	r.last = now
	if r.tokens < 1 || r.inflight >= max(r.Concurrency, 1) {
		r.mu.Unlock()
		r.Metrics.lookup(LookupLimited)
		return false
	}
	r.tokens--
	r.inflight++
	r.mu.Unlock()
	go func() {
		cctx, cancel := context.WithTimeout(ctx, r.Timeout)
		rel, length, err := r.Info(cctx, ino)
		cancel()
		r.mu.Lock()
		r.inflight--
		if err != nil {
			r.failed.put(ino, r.Now())
		}
		r.mu.Unlock()
		if err != nil {
			r.Metrics.lookup(LookupFailed)
		} else {
			r.Metrics.lookup(LookupOK)
		}
		done(rel, length, err == nil)
	}()
	return true
}
