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

// BenchmarkStageIn compares accel and stagein on the three reference traces
// (cache = 30 %) for each ReleaseAt variant and prints the table of
// docs/design/simulator.md; the metrics are ref-2k's at ReleaseAt=0.25.
func BenchmarkStageIn(b *testing.B) {
	var rows []StageInRow
	for b.Loop() {
		rows = rows[:0]
		for _, name := range []string{"ref-2k.jsonl", "ref-3k-flat.jsonl", "ref-4k.csv"} {
			f, err := os.Open("testdata/" + name)
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
			r, err := CompareStageIn(name, jobs, ph, []float64{0, 0.25, 0.5, 1})
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, r...)
		}
	}
	if err := WriteStageInTable(os.Stdout, rows); err != nil {
		b.Fatal(err)
	}
	r := rows[1]
	b.ReportMetric(r.HeldRatio(), "stagein/accel_held")
	b.ReportMetric(r.WasteRatio(), "stagein/accel_waste")
	b.ReportMetric(100*(r.StageIn.HitRatio()-r.Accel.HitRatio()), "hit_points_gained")
	b.ReportMetric(r.StageIn.MeanDelay(), "mean_delay_s")
	b.ReportMetric(r.SavedPerJob(), "saved_gpu_s/job")
}
