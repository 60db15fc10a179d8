// Package sim is accel-data's trace-driven cache simulator: a discrete-time
// engine with an injected clock that replays a job trace against a simulated
// JuiceFS cache (capacity, object-storage bandwidth, warm-up bandwidth,
// fill-on-read with LRU eviction) under several warm-up policies. The accel
// policy runs the real pkg/planner and pkg/priority code, so the figures
// measure the daemon's own decisions. Every policy sees the same trace and
// the same physics.
package sim
