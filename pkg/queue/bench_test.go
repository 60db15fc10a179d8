package queue_test

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
)

// seed fills a store with n datasets in state, spread over 100 projects so
// ancestor and descendant lookups see realistic neighbours. It returns the
// paths and the seeding rate (report it after b.Loop, which resets metrics).
func seed(b *testing.B, s *queue.Store, n int, state api.TaskState) ([]string, float64) {
	b.Helper()
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/jfs/proj%03d/ds%06d", i%100, i)
	}
	start := time.Now()
	require.NoError(b, s.SeedDatasets(ctx(), paths, state, t0))
	return paths, float64(n) / time.Since(start).Seconds()
}

// BenchmarkSubmit measures Submit (one path, with a token, as the SPANK
// plugin sends it) on a store that already holds 100 000 datasets.
// Target: well above 2000/s.
func BenchmarkSubmit(b *testing.B) {
	for _, kind := range []string{"new", "joined", "covered"} {
		b.Run(kind, func(b *testing.B) {
			s, _ := open(b)
			state := api.TaskWarm
			if kind == "covered" {
				state = api.TaskQueued // only an ancestor still to be warmed covers
			}
			paths, seeded := seed(b, s, 100_000, state)
			i := 0
			start := time.Now()
			for b.Loop() {
				var p string
				switch kind {
				case "new":
					p = fmt.Sprintf("/jfs/new%03d/ds%07d", i%100, i)
				case "joined":
					p = paths[(i*7919)%len(paths)]
				case "covered":
					p = paths[(i*7919)%len(paths)] + "/train"
				}
				_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{p}, UID: 1000, GID: 1000,
					Token: fmt.Sprintf("tok-%s-%d", kind, i), Source: api.SourceSubmit, Now: t0.Add(time.Duration(i))})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/time.Since(start).Seconds(), "submits/s")
			b.ReportMetric(seeded, "seeded/s")
		})
	}
}

// BenchmarkJobStatus measures JobStatus latency with 100 000 datasets and
// 2 000 jobs of 4 datasets each. Target: p99 <= 5 ms.
func BenchmarkJobStatus(b *testing.B) {
	s, _ := open(b)
	paths, _ := seed(b, s, 100_000, api.TaskWarm)
	const jobs = 2000
	for j := range jobs {
		ps := make([]string, 4)
		for k := range ps {
			ps[k] = paths[(j*4+k)*11%len(paths)]
		}
		_, err := s.Submit(ctx(), queue.SubmitParams{Paths: ps, UID: 1000, JobID: uint64(j + 1), Source: api.SourceSubmit, Now: t0})
		require.NoError(b, err)
	}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		st, err := s.JobStatus(ctx(), uint64(i%jobs+1))
		lat = append(lat, time.Since(start))
		if err != nil || len(st.Datasets) != 4 {
			b.Fatalf("job %d: %v %+v", i%jobs+1, err, st)
		}
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

// BenchmarkQueue measures listing 10 000 queued tasks (each with a waiting
// job). Target: well under 150 ms.
func BenchmarkQueue(b *testing.B) {
	s, _ := open(b)
	paths, _ := seed(b, s, 10_000, api.TaskQueued)
	for j, p := range paths {
		_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{p}, UID: 1000, Token: fmt.Sprint("t", j), Source: api.SourceSubmit, Now: t0})
		require.NoError(b, err)
	}
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		es, err := s.Queue(ctx(), false)
		worst = max(worst, time.Since(start))
		if err != nil || len(es) != len(paths) || es[0].JobsWaiting != 1 {
			b.Fatalf("queue: %v, %d entries", err, len(es))
		}
	}
	b.ReportMetric(ms(worst), "max-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkDequeue measures taking a task and finishing it (as a retry, so
// it comes back a second later in the test clock, after ~1000 other tasks)
// with 10 000 queued tasks and 100 000 warm datasets.
func BenchmarkDequeue(b *testing.B) {
	s, _ := open(b)
	_, _ = seed(b, s, 100_000, api.TaskWarm)
	paths := make([]string, 10_000)
	for i := range paths {
		paths[i] = fmt.Sprintf("/jfs/queued/ds%06d", i)
	}
	require.NoError(b, s.SeedDatasets(ctx(), paths, api.TaskQueued, t0))
	now := t0
	start := time.Now()
	n := 0
	for b.Loop() {
		now = now.Add(time.Millisecond)
		task, err := s.Dequeue(ctx(), "bench", now, time.Minute)
		if err != nil || task == nil {
			b.Fatalf("dequeue: %v %v", task, err)
		}
		if err := s.Finish(ctx(), task.ID, "bench", queue.Outcome{State: api.TaskQueued, RetryAt: now.Add(time.Second)}, now); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "dequeue+finish/s")
}

// BenchmarkDatasets measures the cache status table listing with 100 000
// datasets (swarmup datasets, GET /v1/datasets).
func BenchmarkDatasets(b *testing.B) {
	s, _ := open(b)
	_, _ = seed(b, s, 100_000, api.TaskWarm)
	for b.Loop() {
		ds, err := s.Datasets(ctx())
		if err != nil || len(ds) != 100_000 {
			b.Fatalf("datasets: %v, %d", err, len(ds))
		}
	}
}

// BenchmarkPlanDatasets measures the cache manager's per-round read with
// 100 000 warm datasets and 2 000 pending jobs: "cold" when the datasets
// hold no cached bytes (only the 2 000 with jobs can change a plan), "cached"
// when every one does (all 100 000 are eviction candidates: the worst case).
func BenchmarkPlanDatasets(b *testing.B) {
	for _, kind := range []string{"cold", "cached"} {
		b.Run(kind, func(b *testing.B) {
			s, _ := open(b)
			paths, _ := seed(b, s, 100_000, api.TaskWarm)
			for j := range 2000 {
				_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{paths[j*37%len(paths)]}, UID: 1, JobID: uint64(j + 1), Source: api.SourceSubmit, Now: t0})
				require.NoError(b, err)
			}
			want := 2000
			if kind == "cached" {
				for _, p := range paths {
					require.NoError(b, s.RecordCheck(ctx(), p, queue.Check{Files: 10, Bytes: 1 << 30, CachedBytes: 1 << 30, Ratio: 1}, t0))
				}
				want = 100_000
			}
			for b.Loop() {
				ds, err := s.PlanDatasets(ctx(), t0)
				if err != nil || len(ds) != want {
					b.Fatalf("plan datasets: %v, %d rows, want %d", err, len(ds), want)
				}
			}
		})
	}
}

// BenchmarkSubmitParallel is BenchmarkSubmit/new with 4×GOMAXPROCS concurrent callers,
// as the daemon sees them (group commit shares transactions between them).
func BenchmarkSubmitParallel(b *testing.B) {
	s, _ := open(b)
	_, _ = seed(b, s, 100_000, api.TaskWarm)
	var n atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{fmt.Sprintf("/jfs/new%03d/ds%07d", i%100, i)},
				UID: 1000, GID: 1000, Token: fmt.Sprint("tok-", i), Source: api.SourceSubmit, Now: t0.Add(time.Duration(i))})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "submits/s")
}

// BenchmarkApplyPlan measures the write of one planner round with n queued
// tasks, while which submissions wait for the store's writer between its
// transactions: "all" writes every task's priority and half of their wait
// reasons (the worst case, as in the first round after a start); "round"
// is the cache manager's round (PlanDatasets, planner.Plan,
// Decision.Changes, ApplyPlan) five seconds after the last, when the age
// factor has moved every priority a little and only the tasks whose
// priority crossed one of their thresholds are written. writer-ms/round is
// the time the writer was held, in transactions of at most planChunk tasks;
// max-writer-ms/round the most one round held it.
func BenchmarkApplyPlan(b *testing.B) {
	for _, n := range []int{10_000, 60_000} {
		for _, kind := range []string{"all", "round"} {
			b.Run(fmt.Sprint(kind, "-", n), func(b *testing.B) {
				s, path := open(b)
				_, _ = seed(b, s, n, api.TaskQueued)
				// Queued over the last six hours, as a real queue is.
				_, err := rawDB(b, path).Exec(`UPDATE tasks SET queued_at = ? - (id * 6 * 3600 * 1000000000 / ?)`, t0.UnixNano(), n)
				require.NoError(b, err)
				ds, err := s.PlanDatasets(ctx(), t0)
				require.NoError(b, err)
				require.Len(b, ds, n)
				cfg := planner.DefaultConfig()
				now, rounds, written := t0.Add(time.Hour), 0, 0
				apply := func() {
					rounds++
					now = now.Add(5 * time.Second)
					if kind == "round" {
						ds, err := s.PlanDatasets(ctx(), now)
						require.NoError(b, err)
						prio, waits := planner.Plan(planner.Snapshot{Datasets: ds}, cfg, now).Changes(ds)
						written += len(prio)
						require.NoError(b, s.ApplyPlan(ctx(), prio, waits, now))
						return
					}
					written += n
					prio := make(map[int64]float64, n)
					waits := make(map[int64]string, n/2)
					for i, d := range ds {
						prio[d.ID] = float64(rounds) + float64(i)/float64(n)
						if i%2 == 0 {
							waits[d.ID] = "waiting for a free warm-up worker"
						}
					}
					require.NoError(b, s.ApplyPlan(ctx(), prio, waits, now))
				}
				apply() // the first round writes every task
				busy, written := s.WriterBusy(), 0
				b.ResetTimer()
				var most time.Duration
				for b.Loop() {
					before := s.WriterBusy()
					apply()
					most = max(most, s.WriterBusy()-before)
				}
				b.ReportMetric(float64((s.WriterBusy()-busy).Microseconds())/1000/float64(b.N), "writer-ms/round")
				b.ReportMetric(float64(most.Microseconds())/1000, "max-writer-ms/round")
				b.ReportMetric(float64(written)/float64(b.N), "tasks-written/round")
			})
		}
	}
}
