package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// read serves a read of the backing file path through the block cache, as
// a real client: each block the read touches is served from its block
// file when that is present (a hit); otherwise the whole block is
// downloaded at the mount's bandwidth and written to the cache exactly as a
// warm-up writes it (a miss; object GET bytes), then served. A block file
// written by any mount of the volume is a hit at once, as for real clients
// with --cache-scan-interval=-1, which look at the disk on every read.
func (s *standin) read(path string, buf []byte, off int64) (int, syscall.Errno) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fs.ToErrno(err)
	}
	end := min(off+int64(len(buf)), fi.Size())
	if off >= end {
		return 0, 0
	}
	if st := filepath.Join(s.vol.mount, stateDir); strings.HasPrefix(path, st+"/") {
		return readDirect(path, buf[:end-off], off) // the stand-in's private state is not volume data
	}
	fm, err := s.fileMeta(path, fi)
	if err != nil {
		mountLog(s.vol.mount, "read %s: %s", path, err)
		return 0, syscall.EIO
	}
	for _, b := range s.vol.blocks(path, fm) {
		lo, hi := max(off, b.off), min(end, b.off+b.length)
		if lo >= hi {
			continue
		}
		if err := s.readBlock(b, buf[lo-off:hi-off], lo-b.off); err != nil {
			mountLog(s.vol.mount, "read %s at %d: %s", path, lo, err)
			return 0, syscall.EIO
		}
	}
	return int(end - off), 0
}

// fileMeta gives the file's slices, from memory while the file is unchanged.
func (s *standin) fileMeta(path string, fi os.FileInfo) (*fileMeta, error) {
	ino := fi.Sys().(*syscall.Stat_t).Ino
	s.mu.Lock()
	k := s.metas[ino]
	s.mu.Unlock()
	if k != nil && k.size == fi.Size() && k.mtimeNs == fi.ModTime().UnixNano() {
		return k.fm, nil
	}
	var fm fileMeta
	if err := s.vol.withMeta(func(m *metaState) error {
		fm = *sliceFor(m, path, fi)
		return nil
	}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.metas[ino] = &knownFile{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano(), fm: &fm}
	s.mu.Unlock()
	return &fm, nil
}

// readBlock fills dst with the block's bytes from offset within.
func (s *standin) readBlock(b block, dst []byte, within int64) error {
	if readCached(b, dst, within) {
		s.count(cacheCounters{Hits: 1, HitBytes: int64(len(dst))})
		return nil
	}
	s.mu.Lock()
	l := s.fetching[b.path]
	if l == nil {
		l = &sync.Mutex{}
		s.fetching[b.path] = l
	}
	s.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	if readCached(b, dst, within) { // another read of this mount fetched it meanwhile
		s.count(cacheCounters{Hits: 1, HitBytes: int64(len(dst))})
		return nil
	}
	if brokenObject(b, s.failFrac) {
		return fmt.Errorf("get object of block %s: simulated failure (FAKEJUICEFS_FAIL_BLOCKS)", b.path)
	}
	n, err := b.fetch(s.lim)
	if err != nil {
		return err
	}
	c := cacheCounters{Misses: 1, MissBytes: b.length, GetBytes: b.length}
	if n > 0 {
		c.Writes, c.WriteBytes = 1, n
		if err := s.vol.withMeta(func(m *metaState) error { m.markWritten(s.mountpoint, b.path); return nil }); err != nil {
			mountLog(s.vol.mount, "record written block %s: %s", b.path, err)
		}
	}
	s.count(c)
	if readCached(b, dst, within) {
		return nil
	}
	// Another process is writing the block file: read the data itself.
	_, errno := readDirect(b.file, dst, b.off+within)
	if errno != 0 {
		return errno
	}
	return nil
}

// readDirect reads the backing file itself.
func readDirect(path string, dst []byte, off int64) (int, syscall.Errno) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fs.ToErrno(err)
	}
	defer f.Close()
	n, err := f.ReadAt(dst, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fs.ToErrno(err)
	}
	return n, 0
}

func (s *standin) count(c cacheCounters) {
	s.mu.Lock()
	s.counters.add(c)
	s.mu.Unlock()
}

// readCached reads from the block file (raw data first, then the CRCs).
func readCached(b block, dst []byte, within int64) bool {
	f, err := os.Open(b.path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() < b.length {
		return false
	}
	_, err = f.ReadAt(dst, within)
	return err == nil
}
