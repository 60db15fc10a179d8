// Package prologwait is the one rule of how long a prolog holds a job's
// GPUs for a warm-up: slurm-prolog applies it to the speeds warmupd reports,
// and the simulator's accel policy (pkg/sim) to its modelled ones. It needs
// only the standard library, so the prolog, which slurmd runs for every job,
// links nothing else for it.
package prologwait

import "time"

// ETA is how long a warm-up that still misses remaining bytes takes at rate
// bytes/s; 0 when nothing remains, and the largest duration when rate is not
// positive (not warming: no end in sight).
func ETA(remaining int64, rate float64) time.Duration {
	switch {
	case remaining <= 0:
		return 0
	case rate <= 0:
		return time.Duration(1<<63 - 1)
	}
	s := float64(remaining) / rate
	if s >= float64(1<<63-1)/float64(time.Second) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(s * float64(time.Second))
}

// KeepWaiting decides whether a prolog should keep holding a job's GPUs for
// a dataset that still misses remaining bytes, warming at rate bytes/s (0 =
// not warming: waiting for a worker or for cache space), after waiting
// waited out of a bound. It answers false as soon as the warm-up cannot
// finish within the bound: the job then starts at once and reads the rest
// through the cache while the warm-up goes on, instead of burning GPU time
// for nothing.
func KeepWaiting(remaining int64, rate float64, waited, bound time.Duration) bool {
	if remaining <= 0 {
		return true
	}
	if rate <= 0 || waited >= bound {
		return false
	}
	return ETA(remaining, rate) <= bound-waited
}
