package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// BenchmarkWaiters10k: 10 000 prologs waiting at once (GET
// /v1/jobs/{id}/wait, the long poll, over the unix socket) for a dataset
// that does not change (warming paused). Reports warmupd's CPU, in % of one
// core from /proc/PID/stat (the median of three 5 s windows), with the 10 000 started jobs
// and no waiter (cpu-base: the planner's rounds over them) and once every
// waiter is in (cpu), the waiters' share (cpu-waiters = cpu − cpu-base,
// the target is <= 5 %), and its RSS. ACCEL_BENCH_WAITERS changes the count.
func BenchmarkWaiters10k(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("ACCEL_BENCH_WAITERS")); err == nil && v > 0 {
		n = v
	}
	// Every waiter is a connection on both ends: raise the descriptor limit
	// (warmupd, our child, inherits it).
	var lim syscall.Rlimit
	require.NoError(b, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		require.NoError(b, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	}
	if need := uint64(n + 1000); lim.Cur < need {
		n = int(lim.Cur - 1000)
		b.Logf("RLIMIT_NOFILE is %d: %d waiters (each is a descriptor here and one in warmupd)", lim.Cur, n)
	}

	v := testutil.NewVolume(b)
	ds := v.WriteFiles(b, "ds", 2, 1<<20)
	d := testutil.StartWarmupd(b, v, "--workers", "0", "--log-level", "warn")
	d.Stop()
	st, err := queue.Open(d.Database, zerolog.Nop())
	require.NoError(b, err)
	for i := 1; i <= n; i++ {
		_, err := st.JobStart(context.Background(), uint64(i), queue.JobStartParams{Paths: []string{ds}, Node: "n1", Now: time.Now()})
		require.NoError(b, err)
	}
	require.NoError(b, st.Close())
	d.Start()
	pid := d.Pid()
	time.Sleep(3 * time.Second)
	base := cpuPercent(b, pid)
	rss0 := rssKiB(b, pid)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &api.Client{Socket: d.Socket, ResponseTimeout: -1}
	var asked, answered, failed atomic.Int64
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(id uint64) {
			defer wg.Done()
			for ctx.Err() == nil {
				asked.Add(1)
				s, err := client.JobWait(ctx, id, api.MaxJobWait)
				switch {
				case ctx.Err() != nil:
					return
				case err != nil: // the listen backlog was full: ask again, as the prolog's reconnector does
					failed.Add(1)
					time.Sleep(50 * time.Millisecond)
				case !s.Ready:
					answered.Add(1)
				}
			}
		}(uint64(i))
		if i%256 == 0 {
			time.Sleep(20 * time.Millisecond) // a burst of prologs, not one instant
		}
	}
	// Settle: every waiter asked, and no new requests for a while.
	for {
		a := asked.Load()
		time.Sleep(2 * time.Second)
		if a >= int64(n) && asked.Load() == a {
			break
		}
	}
	before, at := asked.Load(), time.Now()
	cpu := cpuPercent(b, pid)
	requests := asked.Load() - before
	rss := rssKiB(b, pid)
	b.ReportMetric(float64(n), "waiters")
	b.ReportMetric(cpu, "cpu-%core")
	b.ReportMetric(base, "cpu-base-%core")
	b.ReportMetric(cpu-base, "cpu-waiters-%core")
	b.ReportMetric(float64(rss)/1024, "rss-MiB")
	b.ReportMetric(float64(rss-rss0)/float64(n), "KiB/waiter")
	b.ReportMetric(float64(requests)/time.Since(at).Seconds(), "req/s")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d waiters: warmupd %.2f %% of a core (%.2f %% without them), RSS %d MiB (%d MiB without them), %d requests in the window (%d failed connects during the ramp, %d early answers)",
		n, cpu, base, rss/1024, rss0/1024, requests, failed.Load(), answered.Load())
	cancel()
	wg.Wait()
}

// cpuPercent is pid's CPU in % of one core: the median of three 5 s
// windows (one window can catch a garbage collection or a checkpoint).
func cpuPercent(b *testing.B, pid int) float64 {
	var w []float64
	for range 3 {
		c0, at := testutil.ProcCPU(pid), time.Now()
		time.Sleep(5 * time.Second)
		require.True(b, testutil.Running(pid), "process %d is gone", pid)
		w = append(w, (testutil.ProcCPU(pid)-c0).Seconds()/time.Since(at).Seconds()*100)
	}
	return testutil.Median(w)
}

// rssKiB is VmRSS of pid.
func rssKiB(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err)
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			require.NoError(b, err)
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
