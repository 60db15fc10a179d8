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
	order []nonceEntry         // arrival order, for pruning; order[head:] is live
	head  int
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
// It advances head and compacts order only when half of it is dead, so a
// steady stream costs O(1) per nonce.
func (c *NonceCache) prune(now time.Time) {
	for ; c.head < len(c.order); c.head++ {
		e := c.order[c.head]
		if now.Before(e.until) && len(c.order)-c.head < c.max {
			break
		}
		if until, ok := c.seen[e.nonce]; ok && until.Equal(e.until) {
			delete(c.seen, e.nonce)
		}
		c.order[c.head] = nonceEntry{}
	}
	if c.head > len(c.order)/2 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}
