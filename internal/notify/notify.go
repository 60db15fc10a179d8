// Package notify wakes the API's waiting requests when what they wait for
// may have changed: a waiter subscribes to keys (dataset paths, a job's key),
// the parts of warmupd that change a dataset's state (the scheduler, the
// verifier, the cache manager, the API) notify its key, and only the waiters
// of that key wake up. A waiter costs a map entry and a channel, nothing
// while nothing changes.
package notify

import (
	"strconv"
	"sync"
)

// Hub delivers notifications to subscribers; the zero value is ready, and a
// nil *Hub ignores everything (Subscribe returns a channel that never fires).
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Sub]struct{}
	all  map[*Sub]struct{}
}

// Sub is one waiter's subscription.
type Sub struct {
	// C receives a value (at most one pending) when a key of the subscription
	// was notified.
	C    <-chan struct{}
	c    chan struct{}
	keys []string
}

// JobKey is the key notified when a Slurm job's own state changes (it ended).
func JobKey(id uint64) string { return "job:" + strconv.FormatUint(id, 10) }

// Subscribe wakes the returned Sub when any of keys is notified; Cancel it
// when done.
func (h *Hub) Subscribe(keys ...string) *Sub {
	c := make(chan struct{}, 1)
	s := &Sub{C: c, c: c, keys: keys}
	if h == nil {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs, h.all = map[string]map[*Sub]struct{}{}, map[*Sub]struct{}{}
	}
	h.all[s] = struct{}{}
	for _, k := range keys {
		m := h.subs[k]
		if m == nil {
			m = map[*Sub]struct{}{}
			h.subs[k] = m
		}
		m[s] = struct{}{}
	}
	return s
}

// Cancel ends the subscription.
func (h *Hub) Cancel(s *Sub) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.all, s)
	for _, k := range s.keys {
		if m := h.subs[k]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.subs, k)
			}
		}
	}
}

// Notify wakes the subscribers of keys.
func (h *Hub) Notify(keys ...string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range keys {
		for s := range h.subs[k] {
			wake(s)
		}
	}
}

// NotifyAll wakes every subscriber (a change whose keys are not known, e.g.
// a cancellation).
func (h *Hub) NotifyAll() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.all {
		wake(s)
	}
}

// Waiters is how many subscriptions are open.
func (h *Hub) Waiters() int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.all)
}

func wake(s *Sub) {
	select {
	case s.c <- struct{}{}:
	default: // one pending wake-up is enough
	}
}
