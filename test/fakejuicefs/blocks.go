package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// block is one cache block of one file: the bytes [off, off+length) of the
// data file, stored as <cache>/<UUID>/raw/chunks/<id/1e6>/<id/1e3>/<id>_<idx>_<len>
// (with --hash-prefix: <cache>/<UUID>/raw/chunks/<id%256 as %02X>/<id/1e6>/<id>_<idx>_<len>).
type block struct {
	file   string
	off    int64
	length int64
	dir    string // the cache dir (without UUID) it belongs to
	path   string // full path of the block file
}

// blocks lists the cache blocks of a file with the given slices.
func (v *volume) blocks(file string, fm *fileMeta) []block {
	var out []block
	for ci, id := range fm.Slices {
		sliceLen := min(chunkSize, fm.Length-int64(ci)*chunkSize)
		for bi := int64(0); bi*v.set.BlockSize < sliceLen; bi++ {
			blen := min(v.set.BlockSize, sliceLen-bi*v.set.BlockSize)
			key := fmt.Sprintf("chunks/%d/%d/%d_%d_%d", id/1000/1000, id/1000, id, bi, blen)
			if v.set.HashPrefix {
				key = fmt.Sprintf("chunks/%02X/%d/%d_%d_%d", id%256, id/1000/1000, id, bi, blen)
			}
			dir := v.set.CacheDirs[0]
			if n := len(v.set.CacheDirs); n > 1 {
				h := fnv.New32a()
				_, _ = h.Write([]byte(key))
				dir = v.set.CacheDirs[h.Sum32()%uint32(n)]
			}
			out = append(out, block{
				file: file, off: int64(ci)*chunkSize + bi*v.set.BlockSize, length: blen,
				dir: dir, path: filepath.Join(dir, v.set.UUID, "raw", filepath.FromSlash(key)),
			})
		}
	}
	return out
}

// cached reports whether a complete block file is present.
func (b block) cached() bool {
	fi, err := os.Stat(b.path)
	return err == nil && fi.Mode().IsRegular()
}

// limiter spreads reads over time so that all workers together read at most
// bps bytes per second (bps <= 0: unlimited).
type limiter struct {
	mu   sync.Mutex
	next time.Time
	bps  float64
}

func (l *limiter) wait(n int) {
	if l.bps <= 0 {
		return
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(time.Duration(float64(n) / l.bps * float64(time.Second)))
	l.mu.Unlock()
	time.Sleep(time.Until(at))
}

const readPiece = 1 << 20

// fetch reads the block from the data file at the limiter's pace and stores
// it as the raw block plus a 4-byte CRC32-C per 32 KiB (as the real cache
// does), written to <path>.tmp and renamed into place.
// It returns the bytes written to the cache (0 when another process owns
// the block's .tmp).
func (b block) fetch(l *limiter) (int64, error) {
	f, err := os.Open(b.file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, b.length)
	for done := int64(0); done < b.length; {
		n := min(int64(readPiece), b.length-done)
		l.wait(int(n))
		if _, err := f.ReadAt(buf[done:done+n], b.off+done); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read %s at %d: %w", b.file, b.off+done, err)
		}
		done += n
	}
	tab := crc32.MakeTable(crc32.Castagnoli)
	out := buf
	for off := 0; off < len(buf); off += 32 << 10 {
		out = binary.BigEndian.AppendUint32(out, crc32.Checksum(buf[off:min(off+32<<10, len(buf))], tab))
	}
	if err := os.MkdirAll(filepath.Dir(b.path), 0o755); err != nil {
		return 0, err
	}
	// <name>.tmp is created exclusively: a concurrent stand-in process
	// fetching the same block owns it and will rename it; a .tmp left by a
	// killed process is stale after staleTmp and replaced.
	tmp := b.path + ".tmp"
	f2, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Stat(tmp); serr == nil && time.Since(fi.ModTime()) < staleTmp {
			return 0, nil
		}
		_ = os.Remove(tmp)
		f2, err = os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	}
	if err != nil {
		return 0, err
	}
	if _, err := f2.Write(out); err != nil {
		f2.Close()
		os.Remove(tmp)
		return 0, err
	}
	if err := f2.Close(); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, b.path); err != nil {
		return 0, err
	}
	return int64(len(out)), nil
}

// staleTmp is the age after which a <block>.tmp is taken as left by a killed
// process (the data is read before the .tmp is created, so writing it is quick).
const staleTmp = 10 * time.Second
