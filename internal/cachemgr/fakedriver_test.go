package cachemgr

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
)

const gib = 1 << 30

// t0 is the time every test of this package starts at.
var t0 = testutil.T0

// blockSize is the JuiceFS block size the fake driver counts block files in.
const blockSize = 4 << 20

// errCheckFailed is what the fake driver's --check of a failing path returns.
var errCheckFailed = &jfs.ExecError{Op: "check", ExitCode: 1, Err: errors.New("object storage unreachable")}

// fakeDriver is the cache manager's Driver (the one test double allowed
// here) over a scripted cache: per path, its size and cached bytes. It
// counts the checks per path and how many run at once, can hold checks until
// released (or their context ends), and records evictions.
type fakeDriver struct {
	mu          sync.Mutex
	total       map[string]int64
	cached      map[string]int64
	failing     map[string]bool // --check of these paths fails with errCheckFailed
	checks      map[string]int
	inFlight    int
	maxInFlight int
	hold        chan struct{} // nil: checks answer at once; set before the checks start
	evicted     []string
	evictErr    error   // returned by EvictBlocks (with its result)
	left        float64 // ratio of a path's bytes still cached after EvictBlocks
}

func newDriver() *fakeDriver {
	return &fakeDriver{total: map[string]int64{}, cached: map[string]int64{}, failing: map[string]bool{}, checks: map[string]int{}}
}

// set scripts path: total bytes, of which cached are in the cache.
func (f *fakeDriver) set(path string, total, cached int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.total[path], f.cached[path] = total, cached
}

// fail makes --check of path fail.
func (f *fakeDriver) fail(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[path] = true
}

// evictFails makes EvictBlocks return err, leaving left of each path cached.
func (f *fakeDriver) evictFails(left float64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.left, f.evictErr = left, err
}

// checksOf is how many checks named path.
func (f *fakeDriver) checksOf(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks[path]
}

// maxChecksAtOnce is the most checks that ran at the same time.
func (f *fakeDriver) maxChecksAtOnce() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInFlight
}

func (f *fakeDriver) evictedPaths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.evicted...)
}

func (f *fakeDriver) Check(ctx context.Context, paths []string) (*jfs.CheckResult, error) {
	f.mu.Lock()
	for _, p := range paths {
		f.checks[p]++
	}
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	hold := f.hold
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &jfs.CheckResult{}
	for _, p := range paths {
		if f.failing[p] {
			return nil, errCheckFailed
		}
		r.Files++
		r.TotalBytes += f.total[p]
		r.CachedBytes += f.cached[p]
	}
	if r.TotalBytes > 0 {
		r.Ratio = float64(r.CachedBytes) / float64(r.TotalBytes)
	}
	return r, nil
}

func (f *fakeDriver) EvictBlocks(ctx context.Context, paths []string) (*jfs.EvictResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &jfs.EvictResult{}
	for _, p := range paths {
		left := int64(f.left * float64(f.total[p]))
		freed := max(f.cached[p]-left, 0)
		s.Files++
		s.Blocks += (freed + blockSize - 1) / blockSize
		s.Bytes += freed
		f.cached[p] = min(f.cached[p], left)
		f.evicted = append(f.evicted, p)
	}
	return s, f.evictErr
}

// warmQueued hands every queued task to a worker that finds it warm (bytes,
// all cached) at now, and returns their ids.
func warmQueued(t *testing.T, s *queue.Store, now time.Time, bytes int64) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for {
		task, err := s.Dequeue(ctx, "w", now, time.Minute)
		require.NoError(t, err)
		if task == nil {
			return ids
		}
		require.NoError(t, s.Finish(ctx, task.ID, "w", queue.Outcome{State: api.TaskWarm,
			Check: &queue.Check{Files: 1, Bytes: bytes, CachedBytes: bytes, Ratio: 1}}, now))
		ids = append(ids, task.ID)
	}
}
