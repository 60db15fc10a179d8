package sim

import (
	"os"
	"testing"
	"time"
)

// BenchmarkReference replays testdata/ref-2k.jsonl with cache = 30 % of the
// dataset bytes under every policy and reports the targets:
// accel hit % (>= 90), accel/oracle (>= 0.9), accel - none in points (>= 20),
// accel/fifo prolog GPU-wait (<= 0.25).
func BenchmarkReference(b *testing.B) {
	f, err := os.Open("testdata/ref-2k.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	jobs, err := ReadTrace(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	ph := DefaultPhysics()
	ph.CacheBytes = int64(0.3 * float64(TotalBytes(jobs)))
	res := map[string]Result{}
	for b.Loop() {
		for _, p := range []string{"none", "fifo", "accel", "oracle"} {
			r, err := Run(jobs, ph, p, nil)
			if err != nil {
				b.Fatal(err)
			}
			res[p] = r
		}
	}
	for _, p := range []string{"none", "fifo", "accel", "oracle"} {
		b.ReportMetric(100*res[p].HitRatio(), p+"_hit_%")
	}
	b.ReportMetric(res["accel"].HitRatio()/res["oracle"].HitRatio(), "accel/oracle")
	b.ReportMetric(100*(res["accel"].HitRatio()-res["none"].HitRatio()), "accel-none_points")
	b.ReportMetric(res["fifo"].PrologGPUs/3600, "fifo_gpu_h")
	b.ReportMetric(res["accel"].PrologGPUs/3600, "accel_gpu_h")
	b.ReportMetric(res["accel"].PrologGPUs/res["fifo"].PrologGPUs, "accel/fifo_gpu_wait")
}

// BenchmarkReplay100k generates a 100 000-job trace (2 000 datasets) and
// replays it under the accel policy; the target is under a minute.
func BenchmarkReplay100k(b *testing.B) {
	c := DefaultGen()
	c.Seed, c.Jobs, c.Datasets, c.JobsPerDay = 9, 100_000, 2000, 2000
	jobs, err := Generate(c)
	if err != nil {
		b.Fatal(err)
	}
	ph := DefaultPhysics()
	ph.CacheBytes = int64(0.3 * float64(TotalBytes(jobs)))
	var r Result
	start := time.Now()
	for b.Loop() {
		if r, err = Run(jobs, ph, "accel", nil); err != nil {
			b.Fatal(err)
		}
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/replay")
	b.ReportMetric(float64(len(jobs))/sec, "jobs/s")
	b.ReportMetric(100*r.HitRatio(), "accel_hit_%")
}
