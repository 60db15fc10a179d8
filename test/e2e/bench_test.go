package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

const rounds = 20

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timeSbatch submits one held job and returns how long sbatch took.
func timeSbatch(b *testing.B, env []string, accel string) time.Duration {
	b.Helper()
	args := []string{"--hold", "-o", "/dev/null", "--wrap", "true"}
	if accel != "" {
		args = append([]string{"--accel-data=" + accel}, args...)
	}
	start := time.Now()
	_, stderr, err := run(b, env, "sbatch", args...)
	d := time.Since(start)
	require.NoError(b, err, stderr)
	return d
}

// BenchmarkSubmitLatency measures what --accel-data adds to sbatch (median of
// 20 each, interleaved): with warmupd up, with no socket, and with a hung
// daemon that accepts but never answers (the plugin's timeout_ms bound).
func BenchmarkSubmitLatency(b *testing.B) {
	w := setup(b, true, "")
	ds := w.vol.WriteFiles(b, "bench", 1, mib)
	hung := filepath.Join(cl.base, "hung.sock")
	l, err := net.Listen("unix", hung)
	require.NoError(b, err)
	defer l.Close()
	go func() {
		var conns []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	point := func(target string) {
		_ = os.Remove(cl.socket)
		if target != "" {
			require.NoError(b, os.Symlink(target, cl.socket))
		}
	}
	for b.Loop() {
		var plain, up, down, hungD []time.Duration
		for range rounds {
			point(w.d.Socket)
			plain = append(plain, timeSbatch(b, nil, ""))
			up = append(up, timeSbatch(b, nil, ds))
			point("")
			down = append(down, timeSbatch(b, nil, ds))
			point(hung)
			hungD = append(hungD, timeSbatch(b, nil, ds))
		}
		point(w.d.Socket)
		b.ReportMetric(ms(testutil.Median(plain)), "plain-ms")
		b.ReportMetric(ms(testutil.Median(up)-testutil.Median(plain)), "added-up-ms")
		b.ReportMetric(ms(testutil.Median(down)-testutil.Median(plain)), "added-down-ms")
		b.ReportMetric(ms(testutil.Median(hungD)-testutil.Median(plain)), "added-hung-ms")
		_, _, _ = run(b, nil, "scancel", "-u", "root")
	}
}

// timePrologWarm runs cmd (slurm-prolog, started however the caller's host
// needs) as slurmd does on node for job, whose data ds is warm, and returns
// how long it took; the prolog must find the data warm.
func timePrologWarm(b *testing.B, cmd *exec.Cmd, node, ds string, job uint64) time.Duration {
	b.Helper()
	cmd.Env = []string{"SLURM_SCRIPT_CONTEXT=prolog_slurmd", "SPANK_ACCEL_DATA=" + ds,
		fmt.Sprintf("SPANK_ACCEL_TOKEN=%032x", job), fmt.Sprintf("SLURM_JOB_ID=%d", job),
		"SLURM_JOB_UID=0", "SLURMD_NODENAME=" + node, "SLURM_CONF=" + cl.conf}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	require.NoError(b, cmd.Run())
	d := time.Since(start)
	require.Contains(b, stderr.String(), "reason=warm", "prolog did not find the data warm")
	return d
}

// BenchmarkPrologWarm runs slurm-prolog as slurmd does (no PATH, the job's
// environment) for a job whose data is already warm; median of 20 runs.
func BenchmarkPrologWarm(b *testing.B) {
	w := setup(b, true, "")
	ds := w.vol.WriteFiles(b, "warm", 2, 4*mib)
	_, err := w.d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{ds}, Source: api.SourceManual})
	require.NoError(b, err)
	w.waitWarm(b, ds, 30*time.Second)
	job := uint64(900000)
	for b.Loop() {
		var runs []time.Duration
		for range rounds {
			job++
			runs = append(runs, timePrologWarm(b, exec.Command(cl.prolog), "n1", ds, job))
		}
		b.ReportMetric(ms(testutil.Median(runs)), "prolog-median-ms")
	}
}
