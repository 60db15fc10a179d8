package testutil

import (
	"os"
	"strconv"
)

// BenchWorkersEnv sets how many concurrent clients the submit benchmarks
// (BenchmarkSubmitTCP, BenchmarkSubmitAPI, BenchmarkHostsSubmitRate) run.
const BenchWorkersEnv = "ACCEL_BENCH_WORKERS"

// BenchWorkers is the number of concurrent clients of the submit
// benchmarks: BenchWorkersEnv, else 4 (the figure earlier releases quote).
func BenchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv(BenchWorkersEnv)); err == nil && n > 0 {
		return n
	}
	return 4
}
