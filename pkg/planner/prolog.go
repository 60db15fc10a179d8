package planner

import "time"

// KeepWaiting decides whether a prolog should keep holding a job's GPUs for
// a dataset that still misses remaining bytes, warming at rate bytes/s (0 =
// not warming: waiting for a worker or for cache space), after waiting
// waited out of a bound. It answers false as soon as the warm-up cannot
// finish within the bound: the job then starts at once and reads the rest
// through the cache while the warm-up goes on, instead of burning GPU time
// for nothing. warmupd reports this in JobStatus; the simulator's accel
// policy uses the same function.
func KeepWaiting(remaining int64, rate float64, waited, bound time.Duration) bool {
	if remaining <= 0 {
		return true
	}
	if rate <= 0 || waited >= bound {
		return false
	}
	eta := time.Duration(float64(remaining) / rate * float64(time.Second))
	return waited+eta <= bound
}
