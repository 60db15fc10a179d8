// Package planner is accel-data's scheduler core: Plan turns a Snapshot of the
// cache status table and the queue into a Decision (priorities with their
// breakdown, warm-ups to start, datasets to mark warm without work, datasets
// to evict and why, what waits and why, active warm-ups). It is pure and
// deterministic: the clock is an argument and nothing is read from the host,
// so warmupd (each scheduler tick) and cmd/warmup-sim run the same code.
package planner
