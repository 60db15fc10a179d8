package jfs_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// BenchmarkDriverOverhead warms the same 64 MiB dataset (16 × 4 MiB) with
// jfs.Driver.Warmup+Check and with the juicefs binary run directly (warmup DIR,
// then warmup --check DIR), evicting before every run, five runs each per
// iteration. It reports the medians and their ratio (driver/direct).
// The stand-in reads unthrottled here so that the driver's own cost shows.
//
//	go test -run '^$' -bench BenchmarkDriverOverhead -benchtime 1x ./pkg/jfs
func BenchmarkDriverOverhead(b *testing.B) {
	b.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	v := testutil.NewVolume(b)
	ds := v.WriteFiles(b, "bench", 16, 4<<20)
	d := &jfs.Driver{Binary: v.Binary}
	ctx := context.Background()
	evict := func() {
		if _, err := d.Evict(ctx, []string{ds}); err != nil {
			b.Fatal(err)
		}
	}
	var viaDriver, direct []time.Duration
	b.ResetTimer()
	for range b.N {
		for range 5 {
			evict()
			start := time.Now()
			if _, err := d.Warmup(ctx, []string{ds}); err != nil {
				b.Fatal(err)
			}
			r, err := d.Check(ctx, []string{ds})
			if err != nil || r.Ratio < jfs.MaxRoundedRatio {
				b.Fatalf("check after warmup: %+v, %v", r, err)
			}
			viaDriver = append(viaDriver, time.Since(start))

			evict()
			start = time.Now()
			if out, err := exec.Command(v.Binary, "warmup", ds).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			if out, err := exec.Command(v.Binary, "warmup", "--check", ds).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			direct = append(direct, time.Since(start))
		}
	}
	b.StopTimer()
	md, mx := testutil.Median(viaDriver), testutil.Median(direct)
	b.ReportMetric(float64(md.Microseconds())/1000, "driver-ms")
	b.ReportMetric(float64(mx.Microseconds())/1000, "direct-ms")
	b.ReportMetric(float64(md)/float64(mx), "driver/direct")
}
