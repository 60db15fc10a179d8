package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// fileSpec is how a file's content is made: the first prefixLen bytes from
// prefixSeed, the rest from seed (prefixLen 0: all from seed).
type fileSpec struct {
	size       int64
	seed       uint64
	prefixSeed uint64
	prefixLen  int64
}

// pickSize draws from a mix like a dataset directory: mostly small files,
// some medium, a few large, rare huge up to max.
func pickSize(r *rand.Rand, max int64) int64 {
	var lo, hi int64
	switch p := r.IntN(1000); {
	case p < 700:
		lo, hi = 1, 16<<10
	case p < 980:
		lo, hi = 16<<10, 256<<10
	case p < 999:
		lo, hi = 256<<10, 8<<20
	default:
		lo, hi = 8<<20, 64<<20
	}
	hi = min(hi, max)
	lo = min(lo, hi)
	return lo + r.Int64N(hi-lo+1)
}

// gen builds the benchmark tree: n files under dir, 10 % duplicates of
// earlier files, 3 % same-size non-duplicates, 3 % same-size files sharing
// the first 4 KiB, 1 % empty files. It prints the expected number of
// duplicate groups and files.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("files", 100_000, "number of files")
	max := fs.Int64("max-size", 64<<20, "largest file size in bytes")
	seed := fs.Uint64("seed", 1, "random seed")
	dir := fs.String("dir", "", "output directory (must not exist)")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("gen: --dir is required")
	}
	if err := os.Mkdir(*dir, 0o755); err != nil {
		return fmt.Errorf("gen: %w (remove it first to regenerate)", err)
	}
	r := rand.New(rand.NewPCG(*seed, 42))
	specs := make([]fileSpec, 0, *n)
	var total int64
	buf := make([]byte, 1<<20)
	for i := 0; i < *n; i++ {
		var s fileSpec
		switch p := r.IntN(100); {
		case p < 10 && len(specs) > 0: // duplicate
			s = specs[r.IntN(len(specs))]
		case p < 13 && len(specs) > 0: // same size, other content
			s = fileSpec{size: specs[r.IntN(len(specs))].size, seed: r.Uint64()}
		case p < 16 && len(specs) > 0: // same size, same first 4 KiB
			o := specs[r.IntN(len(specs))]
			if o.size > 4096 && o.prefixLen == 0 {
				s = fileSpec{size: o.size, seed: r.Uint64(), prefixSeed: o.seed, prefixLen: 4096}
			} else {
				s = fileSpec{size: pickSize(r, *max), seed: r.Uint64()}
			}
		case p < 17:
			s = fileSpec{size: 0}
		default:
			s = fileSpec{size: pickSize(r, *max), seed: r.Uint64()}
		}
		specs = append(specs, s)
		p := filepath.Join(*dir, fmt.Sprintf("d%02d", i%37), fmt.Sprintf("s%03d", (i/37)%29), fmt.Sprintf("f%07d.bin", i))
		if err := writeSpec(p, s, buf); err != nil {
			return err
		}
		total += s.size
	}
	fmt.Fprintf(os.Stderr, "gen: %d files, %d bytes in %s\n", *n, total, *dir)
	return nil
}

func fill(b []byte, r *rand.Rand) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	if i < len(b) {
		var t [8]byte
		binary.LittleEndian.PutUint64(t[:], r.Uint64())
		copy(b[i:], t[:])
	}
}

func writeSpec(p string, s fileSpec, buf []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	left := s.size
	if s.prefixLen > 0 {
		pr := rand.New(rand.NewPCG(s.prefixSeed, 7))
		b := buf[:s.prefixLen]
		fill(b, pr)
		w.Write(b)
		left -= s.prefixLen
		// the tail differs: a different stream, started after the prefix
	}
	r := rand.New(rand.NewPCG(s.seed, 7))
	if s.prefixLen > 0 {
		r = rand.New(rand.NewPCG(s.seed, 8))
	}
	for left > 0 {
		b := buf[:min(int64(len(buf)), left)]
		fill(b, r)
		w.Write(b)
		left -= int64(len(b))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
