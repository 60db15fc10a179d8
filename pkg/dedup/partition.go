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
	"strings"
	"sync"
)

// entry is one regular, non-empty file found by a walk or a dump. It is
// stored as Dir (an index into the partitions' directory table) and Name;
// take fills in Path.
type entry struct {
	Dir  uint32
	Name string
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
	scratch  []byte

	dirMu  sync.Mutex
	dirs   []string
	dirIdx map[string]uint32
}

// dirID registers a directory path once and returns its index.
func (p *partitions) dirID(dir string) uint32 {
	p.dirMu.Lock()
	defer p.dirMu.Unlock()
	if id, ok := p.dirIdx[dir]; ok {
		return id
	}
	if p.dirIdx == nil {
		p.dirIdx = map[string]uint32{}
	}
	id := uint32(len(p.dirs))
	p.dirs = append(p.dirs, dir)
	p.dirIdx[dir] = id
	return id
}

func (p *partitions) path(e *entry) string {
	p.dirMu.Lock()
	d := p.dirs[e.Dir]
	p.dirMu.Unlock()
	if strings.HasSuffix(d, "/") {
		return d + e.Name
	}
	return d + "/" + e.Name
}

type shard struct {
	// mem holds encoded entries in blocks of about blockSize bytes (an entry
	// never spans two blocks), so growth wastes at most one block per shard.
	mem   [][]byte
	bytes int
	file  *os.File
	count int
}

const blockSize = 16 << 10

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
	p.scratch = appendEntry(p.scratch[:0], e)
	n := len(p.scratch)
	if k := len(s.mem); k == 0 || cap(s.mem[k-1])-len(s.mem[k-1]) < n {
		s.mem = append(s.mem, make([]byte, 0, max(blockSize, n)))
	}
	k := len(s.mem) - 1
	s.mem[k] = append(s.mem[k], p.scratch...)
	s.bytes += n
	s.count++
	p.inMemory += n
	if p.inMemory <= p.limit {
		return nil
	}
	big := 0
	for j := range p.shards {
		if p.shards[j].bytes > p.shards[big].bytes {
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
	for _, b := range s.mem {
		if _, err := s.file.Write(b); err != nil {
			return fmt.Errorf("spill size partition to %s: %w (raise --memory-limit or free space in --spill-dir)", s.file.Name(), err)
		}
	}
	p.inMemory -= s.bytes
	p.spilled += int64(s.bytes)
	s.mem, s.bytes = nil, 0
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
			e.Path = p.path(&e)
			out = append(out, e)
		}
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
	for _, b := range s.mem {
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			e, err := readEntry(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("decode size partition: %w", err)
			}
			e.Path = p.path(&e)
			out = append(out, e)
		}
	}
	p.inMemory -= s.bytes
	s.mem, s.bytes = nil, 0
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
	b = binary.AppendUvarint(b, uint64(e.Dir))
	b = binary.AppendUvarint(b, uint64(len(e.Name)))
	b = append(b, e.Name...)
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
	dir, err := binary.ReadUvarint(r)
	if err != nil {
		return e, err // io.EOF here means a clean end
	}
	e.Dir = uint32(dir)
	if e.Name, err = str(); err != nil {
		return e, io.ErrUnexpectedEOF
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
