package accesslog_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/accel-data/accel-data/internal/accesslog"
)

// BenchmarkParse parses the real samples' lines (lookups, opens, getattrs,
// reads, releases: mostly reads, as a training job's log is) with gap
// tracking, on one goroutine, and reports lines/s. The agent must keep up
// with ≥ 200 000 lines/s, or JuiceFS drops lines (10 240-line buffer per
// reader).
//
//	go test -run '^$' -bench BenchmarkParse -benchtime 2s ./internal/accesslog
func BenchmarkParse(b *testing.B) {
	var lines [][]byte
	for _, name := range []string{"62_accesslog_lookup_read.txt", "12_accesslog.txt"} {
		lines = append(lines, samples(b, name)...)
	}
	p := accesslog.Parser{Loc: time.UTC}
	var e accesslog.Entry
	var g accesslog.Gaps
	var n int64
	var sz int
	for _, l := range lines {
		sz += len(l) + 1
	}
	b.SetBytes(int64(sz))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, l := range lines {
			if err := p.Parse(l, &e); err != nil && !bytes.Equal(l, []byte("#")) {
				b.Fatal(err)
			}
			g.Observe(&e)
			n++
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(n)/el.Seconds(), "lines/s")
	b.ReportMetric(float64(n)/el.Seconds()/200000, "x-target")
}
