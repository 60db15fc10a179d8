package dedup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkScan scans a warm tree of 5 000 files (1 KiB to 64 KiB, one in
// ten a copy of another) and reports files/s and MiB/s of data read. The
// comparison with other tools is bench/dedup/run.sh.
func BenchmarkScan(b *testing.B) {
	root := b.TempDir()
	const n = 5000
	for i := 0; i < n; i++ {
		seed, size := i, 1024+(i*7919)%(63<<10)
		if i%10 == 9 {
			seed, size = i-9, 1024+((i-9)*7919)%(63<<10)
		}
		p := filepath.Join(root, fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%05d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(bigData(byte(seed), size)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, noHash := range []bool{false, true} {
		b.Run(fmt.Sprintf("nohash=%v", noHash), func(b *testing.B) {
			var read int64
			for i := 0; i < b.N; i++ {
				r, err := Scan(context.Background(), []string{root}, Options{NoHash: noHash})
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Groups) == 0 {
					b.Fatal("no duplicates found")
				}
				read += r.HashedBytes
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(read)/(1<<20)/b.Elapsed().Seconds(), "MiB-read/s")
		})
	}
}
