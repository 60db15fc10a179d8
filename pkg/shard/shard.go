// Package shard splits a dataset into shards: lists of its files of bounded
// bytes, built from ONE walk of its metadata, each warmed by one
// `juicefs warmup -f LIST` (on the service node or, as a Slurm array task,
// on a compute node). Progress is then shards done plus the warming mount's
// own counters, never a repeated `juicefs warmup --check`.
package shard

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/accel-data/accel-data/pkg/dedup"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// DefaultBytes bounds a shard's bytes when the caller gives no bound.
const DefaultBytes = 16 << 30

// MaxFiles bounds a shard's files: one juicefs request (its CLI batches at
// this many paths), so one shard is one request of one process.
const MaxFiles = jfs.BatchMax

// File is one regular file of a dataset.
type File struct {
	Path string
	Size int64
}

// Shard is a list of files warmed by one `juicefs warmup -f`.
type Shard struct {
	Files []string
	Bytes int64
}

// Plan is a dataset cut into shards.
type Plan struct {
	Root   string
	Files  int
	Bytes  int64
	Shards []Shard
	// List is every file of the walk in directory order (nil when the
	// plan is the root as a whole): what First cuts from.
	List []File
}

// First is the files of the plan's list, in directory order, up to the one
// at which ratio of its bytes is reached, and their bytes. It is empty when
// the list is, holds no bytes, or when the part would be all of it.
func (p *Plan) First(ratio float64) (files []string, bytes int64) {
	if p.Bytes <= 0 || ratio <= 0 {
		return nil, 0
	}
	need := int64(math.Ceil(ratio * float64(p.Bytes)))
	for _, f := range p.List {
		if bytes >= need {
			break
		}
		files = append(files, f.Path)
		bytes += f.Size
	}
	if len(files) >= len(p.List) {
		return nil, 0
	}
	return files, bytes
}

// DirOrder compares two paths in directory order: the order of a
// depth-first walk listing each directory's entries by name (filepath.WalkDir,
// ls -R), the order a job reading "in order" reads. It is byte order with
// the separator below every other byte ("a/b" before "a.txt").
func DirOrder(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		return int(x) - int(y)
	}
	return len(a) - len(b)
}

// Walk lists the regular, non-empty files under root (a directory or a
// file) in one parallel walk, sorted in directory order (DirOrder) so that
// shards are stable and the first files are those a job reads first.
func Walk(ctx context.Context, root string, workers int) ([]File, error) {
	var mu sync.Mutex
	var files []File
	var firstErr error
	err := dedup.WalkFiles(ctx, []string{root}, workers, func(p string, size int64) error {
		mu.Lock()
		files = append(files, File{Path: p, Size: size})
		mu.Unlock()
		return nil
	}, func(p string, err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = fmt.Errorf("shard: walk %s: %w", p, err)
		}
		mu.Unlock()
	})
	if err == nil {
		err = firstErr // an unreadable part would be left out of every shard
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b File) int { return DirOrder(a.Path, b.Path) })
	return files, nil
}

// Split cuts files (in their order) into shards of at most maxBytes bytes
// (a bigger file is a shard of its own) and MaxFiles files. With minShards
// > 1 the bound is lowered so that the bytes spread over at least that many
// shards when there are enough files. maxBytes <= 0 means DefaultBytes.
func Split(files []File, maxBytes int64, minShards int) []Shard {
	if maxBytes <= 0 {
		maxBytes = DefaultBytes
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	if minShards > 1 {
		maxBytes = min(maxBytes, max(1, (total+int64(minShards)-1)/int64(minShards)))
	}
	var out []Shard
	var cur Shard
	for _, f := range files {
		if len(cur.Files) > 0 && (cur.Bytes+f.Size > maxBytes || len(cur.Files) >= MaxFiles) {
			out = append(out, cur)
			cur = Shard{}
		}
		cur.Files = append(cur.Files, f.Path)
		cur.Bytes += f.Size
	}
	if len(cur.Files) > 0 {
		out = append(out, cur)
	}
	return out
}

// Make walks root once and splits it (see Walk and Split).
func Make(ctx context.Context, root string, maxBytes int64, minShards int) (*Plan, error) {
	files, err := Walk(ctx, root, 0)
	if err != nil {
		return nil, err
	}
	p := &Plan{Root: root, Files: len(files), Shards: Split(files, maxBytes, minShards), List: files}
	for _, f := range files {
		p.Bytes += f.Size
	}
	return p, nil
}

// WriteList writes a shard's files, one path a line (the `juicefs warmup -f`
// format), to path atomically (a temp file renamed), with mode 0644.
func WriteList(path string, files []string) error {
	for _, f := range files {
		if f == "" || strings.ContainsAny(f, "\n\r") || strings.TrimSpace(f) != f {
			return fmt.Errorf("shard: %q cannot be written in a juicefs list file (empty, a newline, or leading/trailing blanks); rename it", f)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("shard: write list %s (is its directory writable?): %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	for _, f := range files {
		w.WriteString(f)
		w.WriteByte('\n')
	}
	err = w.Flush()
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("shard: write list %s: %w", path, err)
	}
	return nil
}

// ReadList reads a list written by WriteList.
func ReadList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("shard: read list: %w", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}
