package dedup

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"sync"
)

// PrefixSize is how much of every same-size file is compared first.
const PrefixSize = 1024

// chunkSize is the unit of the lockstep comparison.
const chunkSize = 64 << 10

// bufPool recycles chunk buffers across groups.
var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// member is one inode of a size group, with all the names the scan found.
type member struct {
	e     entry
	links []string
}

func (m *member) ref() FileRef {
	fi := m.e.Info
	r := FileRef{Path: Path(m.e.Path), Dev: fi.Dev, Ino: fi.Ino, Nlink: fi.Nlink, UID: fi.UID, GID: fi.GID,
		Mode: uint32(fi.Mode.Perm()), MtimeNs: fi.Mtime, CtimeNs: fi.Ctime}
	for _, l := range m.links {
		r.Links = append(r.Links, Path(l))
	}
	return r
}

// comparer reads files to split one size group into sets of equal content.
type comparer struct {
	fs      FS
	maxOpen int
	// noHash skips the SHA-256 of lockstep groups (content IDs only; the
	// comparison itself is byte for byte).
	noHash bool
	onRead func(n int64)
	onErr  func(path string, err error)
}

// readPrefix reads the first min(size, PrefixSize) bytes of path into buf.
func (c *comparer) readPrefix(path string, size int64, buf *[PrefixSize]byte) ([]byte, error) {
	f, err := c.fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := min(size, PrefixSize)
	b := buf[:n]
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("read first %d bytes: %w (file shrank while scanning?)", n, err)
	}
	c.onRead(n)
	return b, nil
}

// prefixClass is a set of same-size files with the same first KiB.
type prefixClass struct {
	prefix string
	ms     []*member
}

// byPrefix splits ms by their first KiB, in order of first appearance.
func (c *comparer) byPrefix(ms []*member, size int64) []prefixClass {
	var out []prefixClass
	idx := map[string]int{}
	var buf [PrefixSize]byte
	for _, m := range ms {
		p, err := c.readPrefix(m.e.Path, size, &buf)
		if err != nil {
			c.onErr(m.e.Path, err)
			continue
		}
		if i, ok := idx[string(p)]; ok {
			out[i].ms = append(out[i].ms, m)
			continue
		}
		k := string(p)
		idx[k] = len(out)
		out = append(out, prefixClass{prefix: k, ms: []*member{m}})
	}
	return out
}

// equalSets returns the sets of members (two or more) whose content is
// equal byte for byte, with the SHA-256 of each set's content. Groups larger
// than maxOpen are first split by SHA-256 so that no more than maxOpen files
// are open at once.
func (c *comparer) equalSets(ms []*member, size int64) ([][]*member, []string) {
	if len(ms) <= c.maxOpen {
		return c.lockstep(ms, size)
	}
	byHash := map[string][]*member{}
	var keys []string
	for _, m := range ms {
		h, err := c.hashFile(m.e.Path, size)
		if err != nil {
			c.onErr(m.e.Path, err)
			continue
		}
		if _, ok := byHash[h]; !ok {
			keys = append(keys, h)
		}
		byHash[h] = append(byHash[h], m)
	}
	sort.Strings(keys)
	var sets [][]*member
	var sums []string
	for _, k := range keys {
		cands := byHash[k]
		if len(cands) < 2 {
			continue
		}
		if len(cands) <= c.maxOpen {
			s, h := c.lockstep(cands, size)
			sets = append(sets, s...)
			sums = append(sums, h...)
			continue
		}
		set := []*member{cands[0]}
		for _, o := range cands[1:] {
			eq, err := c.sameContent(cands[0].e.Path, o.e.Path, size)
			if err != nil {
				c.onErr(o.e.Path, err)
				continue
			}
			if eq {
				set = append(set, o)
			}
		}
		if len(set) >= 2 {
			sets = append(sets, set)
			sums = append(sums, k)
		}
	}
	return sets, sums
}

// sameContent compares two files byte for byte.
func (c *comparer) sameContent(a, b string, size int64) (bool, error) {
	fa, err := c.fs.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := c.fs.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	return equalReaders(fa, fb, size, c.onRead)
}

// equalReaders reports whether a and b both hold exactly size bytes, equal.
func equalReaders(a, b io.Reader, size int64, onRead func(int64)) (bool, error) {
	ba := make([]byte, min(size, chunkSize)+1)
	bb := make([]byte, len(ba))
	for off := int64(0); off <= size; {
		n := int(min(int64(len(ba)-1), size-off))
		if off == size {
			n = 1 // expect EOF on both
		}
		na, ea := io.ReadFull(a, ba[:n])
		nb, eb := io.ReadFull(b, bb[:n])
		if onRead != nil {
			onRead(int64(na + nb))
		}
		if off == size {
			return na == 0 && nb == 0, nil
		}
		if ea != nil || eb != nil {
			if ea == io.ErrUnexpectedEOF || ea == io.EOF || eb == io.ErrUnexpectedEOF || eb == io.EOF {
				return false, nil // one is shorter than size
			}
			return false, errors.Join(ea, eb)
		}
		if !bytes.Equal(ba[:n], bb[:n]) {
			return false, nil
		}
		off += int64(n)
	}
	return true, nil
}

func (c *comparer) hashFile(path string, size int64) (string, error) {
	f, err := c.fs.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, size+1))
	c.onRead(n)
	if err != nil {
		return "", err
	}
	if n != size {
		return "", fmt.Errorf("size changed while scanning (%d bytes read, %d expected): scan again", n, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type lsFile struct {
	m      *member
	f      File
	buf    []byte
	pooled *[]byte
}

func (f *lsFile) release() {
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
	if f.pooled != nil {
		bufPool.Put(f.pooled)
		f.pooled, f.buf = nil, nil
	}
}

type lsClass struct {
	fs []*lsFile
	h  hash.Hash
}

// lockstep reads all members chunk by chunk at the same offsets, splitting
// them whenever their bytes differ; a file alone in its class stops being
// read. What remains at the end is equal byte for byte.
func (c *comparer) lockstep(ms []*member, size int64) ([][]*member, []string) {
	var open []*lsFile
	defer func() {
		for _, f := range open {
			f.release()
		}
	}()
	bufLen := int(min(size, chunkSize))
	for _, m := range ms {
		f, err := c.fs.Open(m.e.Path)
		if err != nil {
			c.onErr(m.e.Path, err)
			continue
		}
		bp := bufPool.Get().(*[]byte)
		open = append(open, &lsFile{m: m, f: f, buf: (*bp)[:bufLen], pooled: bp})
	}
	if len(open) < 2 {
		return nil, nil
	}
	var h0 hash.Hash
	if !c.noHash {
		h0 = sha256.New()
	}
	classes := []*lsClass{{fs: open, h: h0}}
	drop := func(f *lsFile) { f.release() }
	for off := int64(0); off < size && len(classes) > 0; {
		n := int(min(int64(bufLen), size-off))
		var next []*lsClass
		for _, cl := range classes {
			var ok []*lsFile
			for _, f := range cl.fs {
				if _, err := io.ReadFull(f.f, f.buf[:n]); err != nil {
					c.onErr(f.m.e.Path, fmt.Errorf("read at offset %d: %w (file changed while scanning?)", off, err))
					drop(f)
					continue
				}
				c.onRead(int64(n))
				ok = append(ok, f)
			}
			var subs [][]*lsFile
			for _, f := range ok {
				placed := false
				for i := range subs {
					if bytes.Equal(subs[i][0].buf[:n], f.buf[:n]) {
						subs[i] = append(subs[i], f)
						placed = true
						break
					}
				}
				if !placed {
					subs = append(subs, []*lsFile{f})
				}
			}
			for i, s := range subs {
				if len(s) < 2 {
					drop(s[0])
					continue
				}
				h := cl.h
				if h != nil {
					if i > 0 {
						h = cloneHash(cl.h)
					}
					h.Write(s[0].buf[:n])
				}
				next = append(next, &lsClass{fs: s, h: h})
			}
		}
		classes = next
		off += int64(n)
	}
	var sets [][]*member
	var sums []string
	one := make([]byte, 1)
	for _, cl := range classes {
		var set []*member
		for _, f := range cl.fs {
			if n, _ := f.f.Read(one); n != 0 {
				c.onErr(f.m.e.Path, errors.New("file grew while scanning: scan again"))
				continue
			}
			set = append(set, f.m)
		}
		if len(set) >= 2 {
			sets = append(sets, set)
			sum := ""
			if cl.h != nil {
				sum = hex.EncodeToString(cl.h.Sum(nil))
			}
			sums = append(sums, sum)
		}
	}
	return sets, sums
}

func cloneHash(h hash.Hash) hash.Hash {
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err) // crypto/sha256 always marshals
	}
	n := sha256.New()
	if err := n.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic(err)
	}
	return n
}

func sumBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
