// Package retry owns warmupd's retry decision: how many attempts a warm-up
// gets and how long to wait before the next one. The scheduler asks it after
// every attempt that fell short; the store only records the answer.
package retry

import (
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Defaults of a zero Policy.
const (
	DefaultAttempts = 3
	DefaultBackoff  = 10 * time.Second
	DefaultMax      = 10 * time.Minute
)

// Policy is exponential backoff with a bounded number of attempts.
type Policy struct {
	Attempts int           // attempts in all, the first one included (default 3)
	Backoff  time.Duration // wait before the first retry, doubled for each later one (default 10s)
	Max      time.Duration // the longest wait between two attempts (default 10m)
}

// withDefaults fills the zero fields.
func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	return p
}

// Delay is the wait after attempt number attempts (1 for the first):
// Backoff, 2×Backoff, 4×Backoff, … never more than Max.
func (p Policy) Delay(attempts int) time.Duration {
	p = p.withDefaults()
	d := p.Backoff
	for i := 1; i < attempts && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Decide is the decision after attempt number attempts (1 for the first)
// ended short at now: retry at the returned time, or (retry false) give up.
func (p Policy) Decide(attempts int, now time.Time) (retry bool, at time.Time) {
	p = p.withDefaults()
	if attempts >= p.Attempts {
		return false, time.Time{}
	}
	return true, now.Add(p.Delay(attempts))
}

// Reason is the task's reason text for the decision Decide(attempts, …) made.
func (p Policy) Reason(attempts int, retry bool) string {
	p = p.withDefaults()
	if retry {
		return fmt.Sprintf(api.RetryReasonPrefix+"%d of %d", attempts+1, p.Attempts)
	}
	return fmt.Sprintf("gave up after %d attempts", attempts)
}

// String describes the policy for logs.
func (p Policy) String() string {
	p = p.withDefaults()
	return fmt.Sprintf("%d attempts, backoff %v doubling up to %v", p.Attempts, p.Backoff, p.Max)
}
