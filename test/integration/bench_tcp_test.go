package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
// for the ratios (after a round that is not measured). Every TCP answer's
// proof is checked. It also reports the CPU time per request of warmupd,
// munged and the clients (this process), to show where the cost goes.
// Target: >= 2000 requests/s over TCP.
func BenchmarkSubmitTCP(b *testing.B) {
	m := testutil.StartMunged(b)
	addr := freePortB(b)
	v, d := seededDaemon(b, 100_000, 0, "--listen", addr, "--munge-socket", m.Socket)
	credDirs := mkdirs(b, filepath.Join(v.Mount, "tcp"), 2000)
	sessDirs := mkdirs(b, filepath.Join(v.Mount, "sess"), 2000)
	unixDirs := mkdirs(b, filepath.Join(v.Mount, "unix"), 2000)
	// A first round, not measured: the first submits to a fresh daemon cost
	// more (page cache, planner rounds on 100 000 datasets).
	submitRate(b, func() *api.Client { return &api.Client{Socket: d.Socket} }, mkdirs(b, filepath.Join(v.Mount, "warm"), 2000))
	b.ResetTimer()
	cpu := func() [3]time.Duration { return [3]time.Duration{procCPU(d.Pid()), procCPU(m.Pid()), selfCPU()} }
	c0 := cpu()
	cred := submitRate(b, func() *api.Client { return &api.Client{Server: addr, MungeSocket: m.Socket} }, credDirs)
	c1 := cpu()
	shared := &api.Client{Server: addr, MungeSocket: m.Socket, Sessions: true}
	sess := submitRate(b, func() *api.Client { return shared }, sessDirs)
	c2 := cpu()
	unix := submitRate(b, func() *api.Client { return &api.Client{Socket: d.Socket} }, unixDirs)
	c3 := cpu()
	perReq := func(a, b time.Duration) float64 { return float64((b - a).Microseconds()) / 4000 }
	b.ReportMetric(cred, "tcp-cred-req/s")
	b.ReportMetric(sess, "tcp-sess-req/s")
	b.ReportMetric(unix, "unix-req/s")
	b.ReportMetric(cred/unix, "cred/unix")
	b.ReportMetric(sess/unix, "sess/unix")
	b.ReportMetric(perReq(c0[0], c1[0]), "cred-warmupd-cpu-us/req")
	b.ReportMetric(perReq(c0[1], c1[1]), "cred-munged-cpu-us/req")
	b.ReportMetric(perReq(c0[2], c1[2]), "cred-client-cpu-us/req")
	b.ReportMetric(perReq(c1[0], c2[0]), "sess-warmupd-cpu-us/req")
	b.ReportMetric(perReq(c1[1], c2[1]), "sess-munged-cpu-us/req")
	b.ReportMetric(perReq(c1[2], c2[2]), "sess-client-cpu-us/req")
	b.ReportMetric(perReq(c2[0], c3[0]), "unix-warmupd-cpu-us/req")
	b.ReportMetric(perReq(c2[2], c3[2]), "unix-client-cpu-us/req")
	b.ReportMetric(0, "ns/op")
}

// procCPU is the user+system CPU time of process pid (clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("ACCEL_BENCH_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 4
}
