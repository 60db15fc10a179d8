package integration

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// BenchmarkSubmitTCP: the submit workload of BenchmarkSubmitAPI (100 000
// datasets in the database) over warmupd's TCP door, three ways in one run
// of one daemon: each request with a fresh MUNGE credential encoded by the
// client and decoded by warmupd through a private munged ("cred"); through
// sessions (api.Client.Sessions: one credential opens a session, each
// request then carries an HMAC, "sess"), the clients sharing one
// api.Client as a long-lived agent does; and on the unix socket ("unix"),
// for the ratios. Each of tcpRounds rounds runs the three once on fresh
// directories (after a round that is not measured); the figures are the
// medians, the ratios the medians of each round's ratio. Every TCP answer's
// proof is checked. It also reports the CPU time per request of warmupd,
// munged and the clients (this process), to show where the cost goes, and
// warmupd's page faults per credential request (its C heap kept, see
// cmd/warmupd malloc.go).
// Target: >= 2000 requests/s over TCP.
func BenchmarkSubmitTCP(b *testing.B) {
	m := testutil.StartMunged(b)
	addr := freePortB(b)
	murl := "http://" + freePortB(b) + "/metrics"
	v, d := seededDaemon(b, 100_000, 0, "--listen", addr, "--munge-socket", m.Socket, "--metrics", strings.TrimSuffix(strings.TrimPrefix(murl, "http://"), "/metrics"))
	only := os.Getenv("ACCEL_BENCH_ONLY")
	rounds := benchRounds(tcpRounds)
	sets := 1 + 3*rounds // the first round, then each way in each round
	if only != "" {
		sets = 1 + rounds
	}
	pool := testutil.ColdDirSets(b, v.Mount, "r", sets, 2000)
	dirs := func() []string { d := pool[0]; pool = pool[1:]; return d }
	unixClient := func() *api.Client { return &api.Client{Socket: d.Socket} }
	// A first round, not measured: the first submits to a fresh daemon cost
	// more (page cache, planner rounds on 100 000 datasets).
	submitRate(b, unixClient, dirs())
	b.ResetTimer()
	// writer is the SQLite writer's utilisation during a round, from
	// warmupd's own accel_data_store_writer_busy_seconds_total: the one
	// serial stage of a submit (docs/performance-submit.md).
	type sample struct {
		load
		warmupd, munged, client, mount, writer float64
		faults                                 float64 // warmupd's minor page faults per request
	}
	mount := mountPid(v.Mount) // the JuiceFS client (or stand-in) that serves warmupd's path checks
	writerBusy := func() float64 {
		return scrapeMetrics(b, murl).value("accel_data_store_writer_busy_seconds_total", nil)
	}
	measure := func(client func() *api.Client) sample {
		ds := dirs()
		// The scrapes stay outside the CPU window: each costs warmupd a
		// count of every task by state (the metrics' task gauges), which is
		// not part of a submission.
		b0 := writerBusy()
		w0, m0, c0, f0, pf0 := testutil.ProcCPU(d.Pid()), testutil.ProcCPU(m.Pid()), selfCPU(), testutil.ProcCPU(mount), procFaults(d.Pid())
		l := submitLoad(b, client, ds)
		w1, m1, c1, f1, pf1 := testutil.ProcCPU(d.Pid()), testutil.ProcCPU(m.Pid()), selfCPU(), testutil.ProcCPU(mount), procFaults(d.Pid())
		per := func(a, b time.Duration) float64 { return float64((b - a).Microseconds()) / 4000 }
		busy := (writerBusy() - b0) / (4000 / l.rate)
		faults := float64(pf1-pf0) / 4000
		return sample{l, per(w0, w1), per(m0, m1), per(c0, c1), per(f0, f1), busy, faults}
	}
	credClient := func() *api.Client { return &api.Client{Server: addr, MungeSocket: m.Socket} }
	if only != "" {
		// Profiling: one way, round after round, for a profiler attached
		// to warmupd (perf record -p); prints each round's rate.
		ways := map[string]func() *api.Client{"cred": credClient, "unix": unixClient,
			"sess": func() func() *api.Client {
				shared := &api.Client{Server: addr, MungeSocket: m.Socket, Sessions: true}
				return func() *api.Client { return shared }
			}()}
		way, ok := ways[only]
		require.True(b, ok, "ACCEL_BENCH_ONLY=%s: want cred, sess or unix", only)
		for i := range rounds {
			x := measure(way)
			b.Logf("round %d: %s %.0f req/s, latency p50 %s p99 %s max %s, warmupd %.0f µs/req, munged %.0f µs/req, client %.0f µs/req, mount %.0f µs/req, writer busy %.0f %%, warmupd %.1f page faults/req",
				i, only, x.rate, x.p50.Round(time.Millisecond/10), x.p99.Round(time.Millisecond/10), x.max.Round(time.Millisecond/10), x.warmupd, x.munged, x.client, x.mount, 100*x.writer, x.faults)
		}
		return
	}
	var cred, sess, unix []sample
	var credRatio, sessRatio []float64
	for range rounds {
		c := measure(credClient)
		shared := &api.Client{Server: addr, MungeSocket: m.Socket, Sessions: true}
		s := measure(func() *api.Client { return shared })
		u := measure(unixClient)
		cred, sess, unix = append(cred, c), append(sess, s), append(unix, u)
		credRatio, sessRatio = append(credRatio, c.rate/u.rate), append(sessRatio, s.rate/u.rate)
	}
	med := func(xs []sample, f func(sample) float64) float64 {
		v := make([]float64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		return testutil.Median(v)
	}
	rate := func(x sample) float64 { return x.rate }
	warmupd := func(x sample) float64 { return x.warmupd }
	client := func(x sample) float64 { return x.client }
	b.ReportMetric(med(cred, rate), "tcp-cred-req/s")
	b.ReportMetric(med(sess, rate), "tcp-sess-req/s")
	b.ReportMetric(med(unix, rate), "unix-req/s")
	b.ReportMetric(testutil.Median(credRatio), "cred/unix")
	b.ReportMetric(testutil.Median(sessRatio), "sess/unix")
	b.ReportMetric(med(cred, warmupd), "cred-warmupd-cpu-us/req")
	b.ReportMetric(med(cred, func(x sample) float64 { return x.munged }), "cred-munged-cpu-us/req")
	b.ReportMetric(med(cred, client), "cred-client-cpu-us/req")
	b.ReportMetric(med(sess, warmupd), "sess-warmupd-cpu-us/req")
	b.ReportMetric(med(sess, client), "sess-client-cpu-us/req")
	b.ReportMetric(med(unix, warmupd), "unix-warmupd-cpu-us/req")
	b.ReportMetric(med(unix, client), "unix-client-cpu-us/req")
	b.ReportMetric(med(cred, func(x sample) float64 { return x.mount }), "cred-mount-cpu-us/req")
	b.ReportMetric(med(cred, func(x sample) float64 { return x.faults }), "cred-warmupd-faults/req")
	b.ReportMetric(med(cred, func(x sample) float64 { return x.writer }), "cred-writer-busy")
	// A stall of every submission (behind the store's writer) shows in the
	// longest request of a round, not in its median.
	b.ReportMetric(med(cred, func(x sample) float64 { return ms(x.p99) }), "cred-p99-ms")
	b.ReportMetric(med(cred, func(x sample) float64 { return ms(x.max) }), "cred-max-ms")
	b.ReportMetric(med(unix, func(x sample) float64 { return ms(x.max) }), "unix-max-ms")
	b.ReportMetric(med(unix, func(x sample) float64 { return x.writer }), "unix-writer-busy")
	b.ReportMetric(0, "ns/op")
}

// tcpRounds is how many rounds BenchmarkSubmitTCP takes the medians of.
const tcpRounds = 5

// benchRounds is n, or ACCEL_BENCH_ROUNDS when set (more rounds for a
// profiler, fewer for a quick look).
func benchRounds(n int) int {
	if v, err := strconv.Atoi(os.Getenv("ACCEL_BENCH_ROUNDS")); err == nil && v > 0 {
		return v
	}
	return n
}

// procFaults is the minor page faults of process pid so far.
func procFaults(pid int) int64 {
	f := testutil.ProcStat(pid)
	if f == nil {
		return 0
	}
	n, _ := strconv.ParseInt(f[7], 10, 64)
	return n
}

// mountPid is the pid of the process serving the FUSE mount at mnt (the
// stand-in or a real juicefs mount), found by its arguments; 0 (no CPU
// counted) when there is none, as for the stand-in's plain directory.
func mountPid(mnt string) int {
	pids := testutil.Processes(func(argv []string) bool {
		return slices.Contains(argv, "mount") && slices.Contains(argv, mnt)
	})
	if len(pids) == 0 {
		return 0
	}
	return pids[0]
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
