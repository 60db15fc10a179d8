package testutil

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
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

// EntryCache is how long the kernel keeps a JuiceFS mount's lookups (its
// --entry-cache and --attr-cache, 1 s by default; the stand-in the same).
const EntryCache = time.Second

// ColdDirSets creates sets × n empty directories, set k as
// parent/<prefix>NN/d00000 … d<n-1>, and returns each set's paths once the
// kernel has forgotten every lookup of their creation (EntryCache): a submit
// benchmark's first lookup of each path then goes to the mount process, as a
// dataset's first submission does, instead of finding the dentry its mkdir
// left a moment before.
func ColdDirSets(t testing.TB, parent, prefix string, sets, n int) [][]string {
	t.Helper()
	out := make([][]string, sets)
	for k := range out {
		out[k] = make([]string, n)
		for i := range out[k] {
			out[k][i] = filepath.Join(parent, fmt.Sprintf("%s%02d", prefix, k), fmt.Sprintf("d%05d", i))
			if err := os.MkdirAll(out[k][i], 0o755); err != nil {
				t.Fatalf("testutil: %v", err)
			}
		}
	}
	time.Sleep(EntryCache + EntryCache/2)
	return out
}

// Median is the middle of xs (the upper of the two middles of an even
// count), which it leaves unsorted: the figure benchmarks quote.
func Median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
