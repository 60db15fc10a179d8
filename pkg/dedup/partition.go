package dedup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// entry is one regular, non-empty file found by a walk or a dump.
type entry struct {
	Path string
	Info FileInfo
	// Slices is the file's JuiceFS slice list in canonical form, "" if unknown.
	Slices string
}

// partitions holds entries sharded by size % len(shards), each shard an
// append-only byte arena of encoded entries (no pointers for the garbage
// collector to scan). When the arenas hold more than limit bytes, the
// largest is appended to its spill file in dir, so memory stays bounded
// whatever the number of files.
type partitions struct {
	mu       sync.Mutex
	shards   []shard
	inMemory int
	limit    int
	dir      string
	spilled  int64
}

type shard struct {
	mem   []byte
	file  *os.File
	count int
}

func newPartitions(nShards, limit int, dir string) *partitions {
	if nShards < 1 {
		nShards = 1
	}
	if limit < 1 {
		limit = 1
	}
	return &partitions{shards: make([]shard, nShards), limit: limit, dir: dir}
}

func (p *partitions) add(e entry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := int(uint64(e.Info.Size) % uint64(len(p.shards)))
	s := &p.shards[i]
	before := len(s.mem)
	s.mem = appendEntry(s.mem, e)
	s.count++
	p.inMemory += len(s.mem) - before
	if p.inMemory <= p.limit {
		return nil
	}
	big := 0
	for j := range p.shards {
		if len(p.shards[j].mem) > len(p.shards[big].mem) {
			big = j
		}
	}
	return p.spill(big)
}

// spill appends shard i's arena to its file; p.mu is held.
func (p *partitions) spill(i int) error {
	s := &p.shards[i]
	if s.file == nil {
		f, err := os.CreateTemp(p.dir, fmt.Sprintf("jfs-dedup-shard-%03d-*", i))
		if err != nil {
			return fmt.Errorf("spill size partition to disk: %w (raise --memory-limit or point --spill-dir at a writable directory)", err)
		}
		s.file = f
	}
	if _, err := s.file.Write(s.mem); err != nil {
		return fmt.Errorf("spill size partition to %s: %w (raise --memory-limit or free space in --spill-dir)", s.file.Name(), err)
	}
	p.inMemory -= len(s.mem)
	p.spilled += int64(len(s.mem))
	s.mem = nil
	return nil
}

// take returns every entry of shard i (spilled ones first) sorted by size,
// then frees the shard and removes its spill file.
func (p *partitions) take(i int) ([]entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.shards[i]
	out := make([]entry, 0, s.count)
	if s.file != nil {
		if _, err := s.file.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		r := bufio.NewReaderSize(s.file, 256<<10)
		for {
			e, err := readEntry(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read spilled partition %s: %w", s.file.Name(), err)
			}
			out = append(out, e)
		}
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
	r := bufio.NewReader(bytes.NewReader(s.mem))
	for {
		e, err := readEntry(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decode size partition: %w", err)
		}
		out = append(out, e)
	}
	p.inMemory -= len(s.mem)
	s.mem = nil
	s.count = 0
	sort.Slice(out, func(a, b int) bool {
		if out[a].Info.Size != out[b].Info.Size {
			return out[a].Info.Size < out[b].Info.Size
		}
		return out[a].Path < out[b].Path
	})
	return out, nil
}

// close removes any spill files left behind (after an error).
func (p *partitions) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.shards {
		if f := p.shards[i].file; f != nil {
			f.Close()
			os.Remove(f.Name())
			p.shards[i].file = nil
		}
	}
}

// appendEntry encodes e: uvarint-prefixed path and slice key, then the
// attributes as uvarints.
func appendEntry(b []byte, e entry) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.Path)))
	b = append(b, e.Path...)
	b = binary.AppendUvarint(b, uint64(len(e.Slices)))
	b = append(b, e.Slices...)
	fi := e.Info
	for _, v := range [...]uint64{uint64(fi.Size), uint64(fi.Mode), fi.Dev, fi.Ino, fi.Nlink,
		uint64(fi.UID), uint64(fi.GID), uint64(fi.Mtime), uint64(fi.Ctime)} {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func readEntry(r *bufio.Reader) (entry, error) {
	var e entry
	str := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", io.ErrUnexpectedEOF
		}
		return string(b), nil
	}
	var err error
	if e.Path, err = str(); err != nil {
		return e, err // io.EOF here means a clean end
	}
	if e.Slices, err = str(); err != nil {
		return e, io.ErrUnexpectedEOF
	}
	var v [9]uint64
	for i := range v {
		if v[i], err = binary.ReadUvarint(r); err != nil {
			return e, io.ErrUnexpectedEOF
		}
	}
	e.Info = FileInfo{Size: int64(v[0]), Mode: os.FileMode(v[1]), Dev: v[2], Ino: v[3], Nlink: v[4],
		UID: uint32(v[5]), GID: uint32(v[6]), Mtime: int64(v[7]), Ctime: int64(v[8])}
	return e, nil
}

// spillDir returns dir, or the system temp dir when dir is empty.
func spillDir(dir string) string {
	if dir == "" {
		return os.TempDir()
	}
	return filepath.Clean(dir)
}
