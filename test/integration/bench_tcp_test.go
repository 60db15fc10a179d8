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
// datasets in the database) over warmupd's TCP door, each request with a
// fresh MUNGE credential encoded by the client and decoded by warmupd
// through a private munged, its answer's proof checked; then the same
// workload on the unix socket of the same daemon, for the ratio (after a
// round that is not measured). It also
// reports the CPU time per request of warmupd, munged and the clients (this
// process), to show where the cost goes. Target: >= 2000 requests/s over TCP.
func BenchmarkSubmitTCP(b *testing.B) {
	m := testutil.StartMunged(b)
	addr := freePortB(b)
	v, d := seededDaemon(b, 100_000, 0, "--listen", addr, "--munge-socket", m.Socket)
	tcpDirs := mkdirs(b, filepath.Join(v.Mount, "tcp"), 2000)
	unixDirs := mkdirs(b, filepath.Join(v.Mount, "unix"), 2000)
	// A first round, not measured: the first submits to a fresh daemon cost
	// more (page cache, planner rounds on 100 000 datasets).
	submitRate(b, func() *api.Client { return &api.Client{Socket: d.Socket} }, mkdirs(b, filepath.Join(v.Mount, "warm"), 2000))
	b.ResetTimer()
	cpu := func() [3]time.Duration { return [3]time.Duration{procCPU(d.Pid()), procCPU(m.Pid()), selfCPU()} }
	c0 := cpu()
	tcp := submitRate(b, func() *api.Client { return &api.Client{Server: addr, MungeSocket: m.Socket} }, tcpDirs)
	c1 := cpu()
	unix := submitRate(b, func() *api.Client { return &api.Client{Socket: d.Socket} }, unixDirs)
	c2 := cpu()
	perReq := func(a, b time.Duration) float64 { return float64((b - a).Microseconds()) / 4000 }
	b.ReportMetric(tcp, "tcp-req/s")
	b.ReportMetric(unix, "unix-req/s")
	b.ReportMetric(tcp/unix, "tcp/unix")
	b.ReportMetric(perReq(c0[0], c1[0]), "tcp-warmupd-cpu-us/req")
	b.ReportMetric(perReq(c0[1], c1[1]), "tcp-munged-cpu-us/req")
	b.ReportMetric(perReq(c0[2], c1[2]), "tcp-client-cpu-us/req")
	b.ReportMetric(perReq(c1[0], c2[0]), "unix-warmupd-cpu-us/req")
	b.ReportMetric(perReq(c1[2], c2[2]), "unix-client-cpu-us/req")
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
