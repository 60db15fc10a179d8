package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

func benchEntries(n int) []api.QueueEntry {
	es := make([]api.QueueEntry, n)
	for i := range es {
		es[i] = api.QueueEntry{
			TaskID: int64(i + 1), Dataset: fmt.Sprintf("/jfs/queued/%03d/ds%06d", i%100, i),
			State: api.TaskQueued, Priority: float64(n - i), Bytes: int64(i) << 20, CachedBytes: int64(i) << 18,
			CachedRatio: 0.25, JobsWaiting: i % 5, Source: api.SourceSubmit, Reason: "waiting for a worker",
			CreatedAt: testNow.Add(-time.Duration(i) * time.Second), UpdatedAt: testNow,
		}
	}
	return es
}

// BenchmarkQueueRender10k measures swarmup's side of `swarmup` with 10 000
// queued tasks: decoding warmupd's JSON answer and rendering the table, on a
// terminal (aligned, bars, ages) and piped (tab-separated, RFC 3339).
// The server side is BenchmarkQueueList10k in test/integration; the target
// for the sum is well under 150 ms. Reports the median of 11 runs.
func BenchmarkQueueRender10k(b *testing.B) {
	body, err := json.Marshal(api.QueueResponse{Entries: benchEntries(10_000)})
	require.NoError(b, err)
	for _, tty := range []bool{true, false} {
		name := map[bool]string{true: "tty", false: "piped"}[tty]
		b.Run(name, func(b *testing.B) {
			cols, err := selectColumns(queueColumns, queueDefaults, "")
			require.NoError(b, err)
			ios := &IOStreams{Out: io.Discard, IsTTY: tty, Width: 160}
			var lat []time.Duration
			for i := 0; i < 11; i++ {
				t0 := time.Now()
				var resp api.QueueResponse
				require.NoError(b, json.Unmarshal(body, &resp))
				require.NoError(b, renderTable(ios, OutputOptions{}, testNow, cols, resp.Entries))
				lat = append(lat, time.Since(t0))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkQueueEndToEnd10k measures `swarmup` as a user sees it: the real
// warmupd (warming paused) holding 10 000 queued tasks, swarmup asking it
// over the socket, decoding and rendering the table for a terminal.
// Target: well under 150 ms. Reports the median of 11 runs.
func BenchmarkQueueEndToEnd10k(b *testing.B) {
	v := testutil.NewVolume(b)
	d := testutil.StartWarmupd(b, v, "--workers", "0", "--log-level", "warn")
	const n, batch = 10_000, 1000
	paths := make([]string, 0, batch)
	for i := 0; i < n; i++ {
		p := filepath.Join(v.Mount, "q", fmt.Sprintf("%03d", i%100), fmt.Sprintf("ds%05d", i))
		require.NoError(b, os.MkdirAll(p, 0o755))
		paths = append(paths, p)
		if len(paths) == batch {
			_, err := d.Client.Submit(context.Background(), api.SubmitRequest{Paths: paths, Source: api.SourceManual})
			require.NoError(b, err)
			paths = paths[:0]
		}
	}
	var out bytes.Buffer
	f := &Factory{
		IO:     &IOStreams{Out: &out, ErrOut: &out, IsTTY: true, Width: 160},
		Now:    time.Now,
		Getwd:  os.Getwd,
		Getenv: func(k string) string { return map[string]string{api.SocketEnv: d.Socket}[k] },
	}
	var lat []time.Duration
	for i := 0; i < 11; i++ {
		out.Reset()
		t0 := time.Now()
		code := Main(context.Background(), f, []string{"--noheader"})
		lat = append(lat, time.Since(t0))
		require.Equal(b, exitOK, code, out.String())
		require.Equal(b, n, bytes.Count(out.Bytes(), []byte("\n")))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(0, "ns/op")
}
