package testutil

import (
	"sync"
	"time"
)

// T0 is where unit tests' clocks start.
var T0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// Clock is an injected clock that moves only when the test says; Now is
// what the code under test is given.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at T0.
func NewClock() *Clock { return &Clock{t: T0} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
