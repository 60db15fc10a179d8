package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// freeTCPAddr returns 127.0.0.1:PORT with a port nobody listens on now.
func freeTCPAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// tcpPlugstack is the plugstack.conf of a login host that reaches warmupd at
// addr over TCP with MUNGE (this host's munged is the cluster's, at its socket).
func tcpPlugstack(t testing.TB, addr string, extra ...string) string {
	t.Helper()
	args := append([]string{
		"required", filepath.Join(cl.bin, "accel_data.so"),
		"server=" + addr,
		"munge_socket=" + filepath.Join(cl.dir, "run", "munge.sock"),
		"server_uid=" + strconv.Itoa(os.Geteuid()),
		"prefix=" + cl.base,
		"timeout_ms=3000",
	}, extra...)
	return withPlugstack(t, strings.Join(args, " "))
}

// sbatchHeld submits a held job (so its prolog never asks warmupd itself):
// whatever warmupd holds for it came from the plugin. Returns the job id,
// sbatch's stderr and its error.
func sbatchHeld(t *testing.T, env string, accel string) (uint64, string, error) {
	t.Helper()
	stdout, stderr, err := run(t, []string{env}, "sbatch", "--parsable", "--hold", "-o", "/dev/null",
		"--accel-data="+accel, "--wrap", "true")
	if err != nil {
		return 0, stderr, err
	}
	id, perr := strconv.ParseUint(strings.TrimSpace(strings.Split(stdout, ";")[0]), 10, 64)
	require.NoError(t, perr, "sbatch output %q", stdout)
	return id, stderr, nil
}

// requireOneWarning: the submission went on with exactly one accel-data
// line, a warning containing each of want.
func requireOneWarning(t *testing.T, stderr string, err error, want ...string) {
	t.Helper()
	require.NoError(t, err, "the submission must go on:\n%s", stderr)
	require.Equal(t, 1, strings.Count(stderr, "accel-data"), "one line:\n%s", stderr)
	require.NotContains(t, stderr, "error:", "a warning, not an error:\n%s", stderr)
	for _, w := range want {
		require.Contains(t, stderr, w)
	}
}

// sbatch with server=HOST:PORT in plugstack.conf reaches warmupd over TCP
// with a MUNGE credential: the request is queued as over the socket,
// warmupd's refusal of a path is still the user's error, and every failure
// of the network, of MUNGE or of the server's identity is one warning line
// and the job is submitted anyway.
func TestPlugstackServerTCP(t *testing.T) {
	addr := freeTCPAddr(t)
	munge := filepath.Join(cl.dir, "run", "munge.sock")
	w := setup(t, true, "", "--listen", addr, "--munge-socket", munge)
	ds := w.vol.WriteFiles(t, "tcp", 1, mib)
	env := tcpPlugstack(t, addr)

	t.Run("queued over TCP", func(t *testing.T) {
		_, stderr, err := sbatchHeld(t, env, ds)
		require.NoError(t, err, stderr)
		require.NotContains(t, stderr, "accel-data")
		require.Len(t, w.tasksFor(t, ds), 1, "the plugin's request reached warmupd over TCP")
	})

	t.Run("refused by warmupd is the user's error", func(t *testing.T) {
		outside := filepath.Join(cl.base, "not-juicefs-tcp")
		require.NoError(t, os.MkdirAll(outside, 0o755))
		_, stderr, err := sbatchHeld(t, env, outside)
		require.Error(t, err, "a verified refusal stops the submission")
		require.Contains(t, stderr, "sbatch: error: accel-data: ")
		require.Contains(t, stderr, "not inside a JuiceFS mount")
	})

	t.Run("munged down on this host", func(t *testing.T) {
		env := tcpPlugstack(t, addr, "munge_socket="+filepath.Join(cl.base, "no-munged.sock"))
		_, stderr, err := sbatchHeld(t, env, ds)
		requireOneWarning(t, stderr, err,
			"accel-data: cannot make a MUNGE credential (munged not running on this host?): ",
			"no-munged.sock", "; the job is submitted without warm-up")
	})

	t.Run("credential for another uid", func(t *testing.T) {
		// Only uid 4242 could decode it: warmupd refuses it with 401, unproven.
		env := tcpPlugstack(t, addr, "server_uid=4242")
		_, stderr, err := sbatchHeld(t, env, ds)
		requireOneWarning(t, stderr, err, "accel-data: warning: warmupd (unverified) refused the credential: ")
	})

	t.Run("nobody on the port", func(t *testing.T) {
		closed := freeTCPAddr(t)
		_, stderr, err := sbatchHeld(t, tcpPlugstack(t, closed), ds)
		requireOneWarning(t, stderr, err, "accel-data: warning: warmupd did not answer (connect "+closed+": Connection refused)")
	})

	t.Run("another program on the port", func(t *testing.T) {
		// Not warmupd: a web server that accepts anything and proves nothing.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"request_id":1}`)
		})}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		_, stderr, err := sbatchHeld(t, tcpPlugstack(t, l.Addr().String()), ds)
		requireOneWarning(t, stderr, err, "accel-data: warning: the server at "+l.Addr().String()+
			" did not prove it is warmupd (wrong MUNGE key, or another program on the port)")
	})

	t.Run("a host that never answers", func(t *testing.T) {
		// A listener that never accepts, its queue full: connects hang like
		// packets dropped by a firewall. sbatch waits timeout_ms, not more.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = l.Close() })
		silent := l.Addr().String()
		env := tcpPlugstack(t, silent, "timeout_ms=700")
		_, stderr, err := sbatchHeld(t, env, ds)
		requireOneWarning(t, stderr, err, "accel-data: warning: warmupd did not answer (", silent, "within 700 ms")
	})
}

// BenchmarkSubmitLatencyTCP measures what --accel-data adds to sbatch when
// the plugin reaches warmupd over TCP + MUNGE on this host (median of 20
// each, interleaved): warmupd up (credential, connect, request, proof),
// nobody on the port, and a server that accepts but never answers (bounded
// by timeout_ms=500).
func BenchmarkSubmitLatencyTCP(b *testing.B) {
	addr := freeTCPAddr(b)
	w := setup(b, true, "", "--listen", addr, "--munge-socket", filepath.Join(cl.dir, "run", "munge.sock"))
	ds := w.vol.WriteFiles(b, "bench-tcp", 1, mib)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer silent.Close()
	envUp := tcpPlugstack(b, addr, "timeout_ms=500")
	envDown := tcpPlugstack(b, freeTCPAddr(b), "timeout_ms=500")
	envSilent := tcpPlugstack(b, silent.Addr().String(), "timeout_ms=500")
	timed := func(env, accel string) time.Duration {
		args := []string{"--hold", "-o", "/dev/null", "--wrap", "true"}
		if accel != "" {
			args = append([]string{"--accel-data=" + accel}, args...)
		}
		start := time.Now()
		_, stderr, err := run(b, []string{env}, "sbatch", args...)
		d := time.Since(start)
		require.NoError(b, err, stderr)
		return d
	}
	for b.Loop() {
		var plain, up, down, silentD []time.Duration
		for range rounds {
			plain = append(plain, timed(envUp, ""))
			up = append(up, timed(envUp, ds))
			down = append(down, timed(envDown, ds))
			silentD = append(silentD, timed(envSilent, ds))
		}
		b.ReportMetric(ms(testutil.Median(plain)), "plain-ms")
		b.ReportMetric(ms(testutil.Median(up)-testutil.Median(plain)), "added-tcp-up-ms")
		b.ReportMetric(ms(testutil.Median(down)-testutil.Median(plain)), "added-tcp-refused-ms")
		b.ReportMetric(ms(testutil.Median(silentD)-testutil.Median(plain)), "added-tcp-silent-ms")
		_, _, _ = run(b, nil, "scancel", "-u", "root")
	}
}
