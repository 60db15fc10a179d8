package agent_test

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/accel-data/accel-data/internal/accesslog"
	"github.com/accel-data/accel-data/internal/agent"
)

// BenchmarkAgentObserve parses the real samples' lines and feeds them to
// the aggregator (pid → job from a /proc fixture, inode → path, per-job
// sums) on one goroutine, and reports lines/s: what the agent's reading
// loop costs besides the read(2) calls. The target is ≥ 200 000 lines/s.
//
//	go test -run '^$' -bench BenchmarkAgentObserve -benchtime 2s ./internal/agent
func BenchmarkAgentObserve(b *testing.B) {
	var lines [][]byte
	for _, name := range []string{"62_accesslog_lookup_read.txt", "12_accesslog.txt"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if l := sc.Bytes(); len(l) > 0 && l[0] != '$' && l[0] != '[' {
				lines = append(lines, append([]byte(nil), l...))
			}
		}
	}
	root := b.TempDir()
	for _, pid := range []string{"21985", "21987", "21988", "22304", "22339", "22340", "22341"} {
		if err := os.MkdirAll(root+"/"+pid, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(root+"/"+pid+"/cgroup", []byte("0::/system.slice/slurmstepd.scope/job_42/step_0\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	a := &agent.Aggregator{Mount: "/jfs", DatasetDepth: 1, SubpathDepth: 1, Jobs: agent.NewJobs(root, 1024), Inodes: agent.NewInodes(1 << 16)}
	p := accesslog.Parser{Loc: time.UTC}
	var e accesslog.Entry
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, l := range lines {
			if p.Parse(l, &e) == nil {
				a.Observe(&e)
			}
			n++
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(n)/el.Seconds(), "lines/s")
	b.ReportMetric(float64(n)/el.Seconds()/200000, "x-target")
}
