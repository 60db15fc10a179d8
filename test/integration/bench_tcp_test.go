package integration

import (
	"path/filepath"
	"testing"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// BenchmarkSubmitTCP: the submit workload of BenchmarkSubmitAPI (100 000
// datasets in the database) over warmupd's TCP door, each request with a
// fresh MUNGE credential encoded by the client and decoded by warmupd
// through a private munged, its answer's proof checked; then the same
// workload on the unix socket of the same daemon, for the ratio. Target:
// >= 2000 requests/s over TCP.
func BenchmarkSubmitTCP(b *testing.B) {
	m := testutil.StartMunged(b)
	addr := freePortB(b)
	v, d := seededDaemon(b, 100_000, 0, "--listen", addr, "--munge-socket", m.Socket)
	tcpDirs := mkdirs(b, filepath.Join(v.Mount, "tcp"), 2000)
	unixDirs := mkdirs(b, filepath.Join(v.Mount, "unix"), 2000)
	b.ResetTimer()
	tcp := submitRate(b, func() *api.Client { return &api.Client{Server: addr, MungeSocket: m.Socket} }, tcpDirs)
	unix := submitRate(b, func() *api.Client { return &api.Client{Socket: d.Socket} }, unixDirs)
	b.ReportMetric(tcp, "tcp-req/s")
	b.ReportMetric(unix, "unix-req/s")
	b.ReportMetric(tcp/unix, "tcp/unix")
	b.ReportMetric(0, "ns/op")
}
