// Package integration runs a real warmupd process against a JuiceFS volume
// (the stand-in test/fakejuicefs, or a real juicefs when ACCEL_TEST_JUICEFS
// names one) and checks the queue end to end over the unix-socket API:
// deduplication, nested paths, crash recovery, bad input.
package integration
