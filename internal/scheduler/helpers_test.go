package scheduler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/retry"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// t0 is the test clock's origin.
var t0 = testutil.T0

// fakeDriver is the scheduler's Driver with a scripted cache of one dataset:
// Check reports cached/total; a Warmup raises cached to fill×total, fails
// with warmErr, or (block) runs until its context ends.
type fakeDriver struct {
	mu       sync.Mutex
	total    int64
	cached   int64
	fill     float64
	warmErr  error
	checkErr error
	block    bool
	blockAt  int  // when > 0, only the blockAt-th Warmup (1-based) and later ones block
	anyway   bool // a blocked Warmup finishes the fetch all the same (juicefs done just as the cancel came)
	lag      int  // checks after a warm-up that still see the old cached bytes (the asynchronous cache write)
	warmups  int
	warmed   [][]string // the paths of each Warmup, in order
	checks   int
	pending  int64      // cached bytes once the cache write has landed
	mount    string     // when set, Warmup adds the bytes it fetched to mount/.stats, as a mount does
	fetched  int64      // the .stats cache-write counter
	lists    [][]string // the paths of each Warmup
	// root and rest, when set: a Check of root alone also counts rest more
	// bytes, cached only once a Warmup named root itself (the dataset
	// beyond the subdirectories a narrowed warm-up warms first).
	root     string
	rest     int64
	restWarm bool

	started chan struct{} // a send when a Warmup starts
	ended   chan error    // the context's cause when a blocked Warmup ends
}

func newDriver(cached, total int64, fill float64) *fakeDriver {
	return &fakeDriver{total: total, cached: cached, fill: fill,
		started: make(chan struct{}, 100), ended: make(chan error, 100)}
}

func (f *fakeDriver) Warmup(ctx context.Context, paths []string) (*jfs.Summary, error) {
	f.mu.Lock()
	f.warmups++
	f.warmed = append(f.warmed, append([]string(nil), paths...))
	block, err := f.block && (f.blockAt == 0 || f.warmups >= f.blockAt), f.warmErr
	f.lists = append(f.lists, paths)
	f.mu.Unlock()
	f.started <- struct{}{}
	if block {
		<-ctx.Done()
		f.ended <- context.Cause(ctx)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.anyway {
			f.cached = f.total
			return &jfs.Summary{Files: 1, Bytes: f.total}, nil
		}
		return nil, &jfs.ExecError{Op: "warmup", ExitCode: -1, Err: ctx.Err()}
	}
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = max(f.cached, int64(f.fill*float64(f.total)))
	f.restWarm = f.restWarm || f.root != "" && slices.Contains(paths, f.root)
	f.addStats(f.pending - f.cached)
	if f.lag == 0 {
		f.cached = f.pending
	}
	return &jfs.Summary{Files: 1, Bytes: f.total}, nil
}

func (f *fakeDriver) Check(ctx context.Context, paths []string) (*jfs.CheckResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	if f.checkErr != nil {
		return nil, f.checkErr
	}
	if f.pending > 0 {
		if f.lag > 0 {
			f.lag--
		} else {
			f.cached = f.pending
		}
	}
	total, cached := f.total, f.cached
	if f.root != "" && len(paths) == 1 && paths[0] == f.root {
		total += f.rest
		if f.restWarm {
			cached += f.rest
		}
	}
	return &jfs.CheckResult{Files: 1, TotalBytes: total, CachedBytes: cached, Ratio: float64(cached) / float64(total)}, nil
}

// addStats adds n to the cache-write counter of f.mount/.stats (called
// under f.mu).
func (f *fakeDriver) addStats(n int64) {
	if f.mount == "" {
		return
	}
	f.fetched += n
	if err := os.WriteFile(filepath.Join(f.mount, ".stats"), fmt.Appendf(nil, "%s %d\n", jfs.StatCacheWriteBytes, f.fetched), 0o644); err != nil {
		panic(err)
	}
}

// setFetched sets the .stats cache-write counter, as a mount that fetched
// that much since it was mounted.
func (f *fakeDriver) setFetched(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetched = 0
	f.addStats(n)
}

func (f *fakeDriver) counts() (warmups, checks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.warmups, f.checks
}

// rig is a scheduler on a real SQLite store in t.TempDir, with the fake
// driver and the test clock. Its mount is a temp directory whose .stats the
// fake driver keeps; datasets named with r.path live there (as real files
// the scheduler walks), others (/jfs/…) do not exist and are warmed whole.
type rig struct {
	t     *testing.T
	store *queue.Store
	drv   *fakeDriver
	clk   *testutil.Clock
	mount string
	s     *Scheduler
}

// newRig builds a rig; cfg gets short real-time periods (the clock that
// decides retries is the injected one).
func newRig(t *testing.T, drv *fakeDriver, cfg Config) *rig {
	t.Helper()
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Hour // no heartbeat during a test unless it asks for one
	}
	if cfg.Recheck == 0 {
		cfg.Recheck = time.Millisecond
	}
	if cfg.Tick == 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	if cfg.Retry == (retry.Policy{}) {
		cfg.Retry = retry.Policy{Attempts: 3, Backoff: 10 * time.Second, Max: time.Hour}
	}
	mnt := t.TempDir()
	cfg.Mounts = []string{mnt}
	drv.mu.Lock()
	drv.mount = mnt
	drv.addStats(0)
	drv.mu.Unlock()
	st, clk := queuetest.Open(t), testutil.NewClock()
	return &rig{t: t, store: st, drv: drv, clk: clk, mount: mnt, s: New(cfg, st, drv, zerolog.New(zerolog.NewTestWriter(t)), clk.Now)}
}

// dataset creates the directory rel under the rig's mount holding one
// sparse file of each size, and returns its path.
func (r *rig) dataset(rel string, sizes ...int64) string {
	r.t.Helper()
	dir := filepath.Join(r.mount, rel)
	require.NoError(r.t, os.MkdirAll(dir, 0o755))
	for i, n := range sizes {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%04d.bin", i)))
		require.NoError(r.t, err)
		require.NoError(r.t, f.Truncate(n))
		require.NoError(r.t, f.Close())
	}
	return dir
}

// newBlockedRig is a rig whose dataset /jfs/ds (of total bytes, none
// cached) is queued as task id, and whose warm-ups run until stopped.
func newBlockedRig(t *testing.T, total int64, cfg Config) (r *rig, drv *fakeDriver, id int64) {
	t.Helper()
	drv = newDriver(0, total, 1)
	drv.block = true
	r = newRig(t, drv, cfg)
	return r, drv, r.submit("/jfs/ds")
}

// submit queues path and returns its task id.
func (r *rig) submit(path string) int64 {
	r.t.Helper()
	resp, err := r.store.Submit(context.Background(), queue.SubmitParams{Paths: []string{path}, Source: api.SourceManual, Now: r.clk.Now()})
	require.NoError(r.t, err)
	return resp.Items[0].TaskID
}

// attempt dequeues at the test clock's time and runs the task to its next
// state, as one worker does. It fails the test when nothing is runnable.
func (r *rig) attempt() *queue.Task {
	r.t.Helper()
	task := r.dequeue()
	require.NotNil(r.t, task, "a task is runnable at %v", r.clk.Now())
	r.s.work(context.Background(), task)
	return task
}

func (r *rig) dequeue() *queue.Task {
	r.t.Helper()
	task, err := r.store.Dequeue(context.Background(), r.s.Owner(), r.clk.Now(), r.s.cfg.Lease)
	require.NoError(r.t, err)
	return task
}

// goWork runs task in a worker of its own, as the scheduler does; the
// channel closes when the worker returns.
func (r *rig) goWork(ctx context.Context, task *queue.Task) <-chan struct{} {
	done := make(chan struct{})
	go func() { defer close(done); r.s.work(ctx, task) }()
	return done
}

// goRun runs the scheduler; stop ends it and returns Run's error.
func (r *rig) goRun() (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- r.s.Run(ctx) }()
	return func() error { cancel(); return <-ran }
}

// cancel cancels task id as root at the test clock's time and returns the
// ids it cancelled.
func (r *rig) cancel(id int64) []int64 {
	r.t.Helper()
	ids, err := r.store.Cancel(context.Background(), 0, api.CancelRequest{TaskIDs: []int64{id}}, r.clk.Now())
	require.NoError(r.t, err)
	return ids
}

// entry is the task's row in the queue listing.
func (r *rig) entry(id int64) api.QueueEntry {
	r.t.Helper()
	return queuetest.Entry(r.t, r.store, id)
}
