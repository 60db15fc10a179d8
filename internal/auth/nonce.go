package auth

import (
	"sync"
	"time"
)

// NonceCache remembers the nonces of accepted credentials for their
// lifetime, so a credential is accepted once even if munged's own replay
// check is bypassed (several warmupds, a restarted munged). It is bounded:
// when full, the oldest nonce is forgotten first (munged still reports a
// replay of it).
type NonceCache struct {
	mu    sync.Mutex
	now   func() time.Time
	max   int
	seen  map[string]time.Time // nonce → forget after
	order []nonceEntry         // arrival order, for pruning
}

type nonceEntry struct {
	nonce string
	until time.Time
}

// NewNonceCache keeps at most max nonces; now is the clock (time.Now).
func NewNonceCache(max int, now func() time.Time) *NonceCache {
	return &NonceCache{now: now, max: max, seen: make(map[string]time.Time)}
}

// Use records nonce for ttl and reports false if it was already seen and
// has not expired.
func (c *NonceCache) Use(nonce string, ttl time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if until, ok := c.seen[nonce]; ok && now.Before(until) {
		return false
	}
	c.prune(now)
	until := now.Add(ttl)
	c.seen[nonce] = until
	c.order = append(c.order, nonceEntry{nonce, until})
	return true
}

// Len is the number of nonces remembered.
func (c *NonceCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// prune forgets expired nonces at the front and the oldest beyond max-1.
func (c *NonceCache) prune(now time.Time) {
	i := 0
	for ; i < len(c.order); i++ {
		e := c.order[i]
		if now.Before(e.until) && len(c.order)-i < c.max {
			break
		}
		if until, ok := c.seen[e.nonce]; ok && until.Equal(e.until) {
			delete(c.seen, e.nonce)
		}
	}
	if i > 0 {
		c.order = append(c.order[:0:0], c.order[i:]...)
	}
}
