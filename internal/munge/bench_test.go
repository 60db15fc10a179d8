package munge_test

import (
	"testing"

	"github.com/accel-data/accel-data/internal/munge"
	"github.com/accel-data/accel-data/internal/testutil"
)

// BenchmarkEncodeDecode: one credential made and checked through a private
// munged, the cost MUNGE adds to each TCP request.
func BenchmarkEncodeDecode(b *testing.B) {
	m := testutil.StartMunged(b)
	payload := []byte("accel-data-auth v1\nmethod POST\npath /v1/requests\nbody-sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nnonce 000102030405060708090a0b0c0d0e0f\nreply-key abababababababababababababababababababababababababababababababab\n")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cred, err := munge.Encode(payload, munge.EncodeOptions{Socket: m.Socket})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := munge.Decode(cred, m.Socket); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeDecodeParallel: the same from 8 goroutines at once
// (2 per core), as warmupd decodes for many clients.
func BenchmarkEncodeDecodeParallel(b *testing.B) {
	m := testutil.StartMunged(b)
	payload := []byte("accel-data-auth v1\n")
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cred, err := munge.Encode(payload, munge.EncodeOptions{Socket: m.Socket})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := munge.Decode(cred, m.Socket); err != nil {
				b.Fatal(err)
			}
		}
	})
}
