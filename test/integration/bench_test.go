package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// seededDaemon starts warmupd (warming paused) on a database that already
// holds n warm datasets and q queued ones.
func seededDaemon(b *testing.B, n, q int, extra ...string) (*testutil.Volume, *testutil.Daemon) {
	v := testutil.NewVolume(b)
	d := testutil.StartWarmupd(b, v, append([]string{"--workers", "0", "--log-level", "warn"}, extra...)...)
	d.Stop()
	st, err := queue.Open(d.Database, zerolog.Nop())
	require.NoError(b, err)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("%s/seed/%03d/ds%06d", v.Mount, i%1000, i)
	}
	require.NoError(b, st.SeedDatasets(context.Background(), paths, api.TaskWarm, time.Now()))
	if q > 0 {
		qp := make([]string, q)
		for i := range qp {
			qp[i] = fmt.Sprintf("%s/queued/%03d/ds%06d", v.Mount, i%100, i)
		}
		require.NoError(b, st.SeedDatasets(context.Background(), qp, api.TaskQueued, time.Now()))
	}
	require.NoError(b, st.Close())
	d.Start()
	return v, d
}

func mkdirs(b *testing.B, root string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = filepath.Join(root, fmt.Sprintf("d%05d", i))
		require.NoError(b, os.MkdirAll(out[i], 0o755))
	}
	return out
}

// BenchmarkSubmitAPI: submits through the unix-socket API with 100 000
// datasets in the database; half the requests name new datasets, half join
// existing ones. Target: >= 2000 requests/s.
func BenchmarkSubmitAPI(b *testing.B) {
	v, d := seededDaemon(b, 100_000, 0)
	dirs := mkdirs(b, filepath.Join(v.Mount, "new"), 2000)
	b.ResetTimer()
	b.ReportMetric(submitRate(b, func() *api.Client { return &api.Client{Socket: d.Socket} }, dirs), "req/s")
	b.ReportMetric(0, "ns/op")
}

// submitRate runs submitLoad and returns its rate.
func submitRate(b *testing.B, client func() *api.Client, dirs []string) float64 {
	return submitLoad(b, client, dirs).rate
}

// load is what one submitLoad measured: the rate, and the latency of one
// request as its client saw it (the median, the 99th percentile and the
// longest: a stall behind the store's writer shows in the last two).
type load struct {
	rate          float64
	p50, p99, max time.Duration
}

// submitLoad sends 4 000 submits from testutil.BenchWorkers concurrent
// clients made by client, one path each: with 2 000 dirs each path twice
// (half the requests name new datasets, half join existing ones).
func submitLoad(b *testing.B, client func() *api.Client, dirs []string) load {
	const total = 4000
	workers := testutil.BenchWorkers()
	lat := make([]time.Duration, total)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := client()
			for i := w; i < total; i += workers {
				t0 := time.Now()
				_, err := c.Submit(context.Background(), api.SubmitRequest{Paths: []string{dirs[i%len(dirs)]}, Token: fmt.Sprintf("t%d", i), Source: api.SourceSubmit})
				lat[i] = time.Since(t0)
				if err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	l := latencies(lat)
	l.rate = float64(total) / time.Since(start).Seconds()
	return l
}

// latencies sorts lat and returns its median, 99th percentile and longest.
func latencies(lat []time.Duration) load {
	slices.Sort(lat)
	n := len(lat)
	return load{p50: lat[n/2], p99: lat[n*99/100], max: lat[n-1]}
}

// ms is d in milliseconds, for b.ReportMetric.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkJobReadiness: GET /v1/jobs/ID with 100 000 datasets and 1000
// jobs; reports p50 and p99. Target: p99 <= 5 ms.
func BenchmarkJobReadiness(b *testing.B) {
	v, d := seededDaemon(b, 100_000, 0)
	dirs := mkdirs(b, filepath.Join(v.Mount, "jobs"), 1000)
	ctx := context.Background()
	for i, dir := range dirs {
		_, err := d.Client.JobStart(ctx, uint64(1000+i), api.JobStartRequest{Paths: []string{dir}, Node: "n1"})
		require.NoError(b, err)
	}
	const n = 5000
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		st, err := d.Client.JobStatus(ctx, uint64(1000+(i*7919)%len(dirs)))
		lat = append(lat, time.Since(t0))
		require.NoError(b, err)
		require.Len(b, st.Datasets, 1)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(ms(lat[n/2]), "p50-ms")
	b.ReportMetric(ms(lat[n*99/100]), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkQueueList10k: GET /v1/queue with 10 000 queued entries (and
// 100 000 warm datasets), median of 11. swarmup's rendering is measured in
// cmd/swarmup; the target (<= 150 ms) is for the sum.
func BenchmarkQueueList10k(b *testing.B) {
	_, d := seededDaemon(b, 100_000, 10_000)
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < 11; i++ {
		t0 := time.Now()
		q, err := d.Client.Queue(ctx, false)
		lat = append(lat, time.Since(t0))
		require.NoError(b, err)
		require.Len(b, q.Entries, 10_000)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(ms(lat[len(lat)/2]), "median-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSubmitBehindBigQueue: submits while 60 000 warm-ups wait in the
// queue (and 100 000 datasets are warm), from 4 clients for 30 s, one at a
// time each, starting as warmupd restarts with a new size weight, so that
// its first round moves every queued task's priority (as after an admin
// changes a weight) and the rounds after it only what the age factor moves.
// Each round ranks the whole queue and writes the priorities back; every
// submission waits for the store's writer while it does, so the longest
// request shows how long that holds it. sbatch waits timeout_ms (500 ms by
// default) for warmupd. Reports the client's latency: median, 99th
// percentile and the longest.
func BenchmarkSubmitBehindBigQueue(b *testing.B) {
	v, d := seededDaemon(b, 100_000, 60_000)
	dirs := mkdirs(b, filepath.Join(v.Mount, "new"), 2000)
	d.Stop()
	d.Args = append(d.Args, "--priority-weight-size", "1100") // 1000 by default: every task moves by 100
	d.Start()
	const clients, span = 4, 30 * time.Second
	lats := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	end := time.Now().Add(span)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &api.Client{Socket: d.Socket}
			for i := w; time.Now().Before(end); i += clients {
				t0 := time.Now()
				_, err := c.Submit(context.Background(), api.SubmitRequest{Paths: []string{dirs[i%len(dirs)]}, Token: fmt.Sprintf("t%d", i), Source: api.SourceSubmit})
				lats[w] = append(lats[w], time.Since(t0))
				if err != nil {
					b.Error(err)
					return
				}
				time.Sleep(5 * time.Millisecond) // a steady stream, not a flood
			}
		}()
	}
	wg.Wait()
	lat := slices.Concat(lats...)
	l := latencies(lat)
	b.ReportMetric(float64(len(lat)), "requests")
	b.ReportMetric(ms(l.p50), "p50-ms")
	b.ReportMetric(ms(l.p99), "p99-ms")
	b.ReportMetric(ms(l.max), "max-ms")
	b.ReportMetric(0, "ns/op")
}
