package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// The inode numbers of a real client's internal files (pkg/vfs/internal.go):
// .accesslog is 9223372032559808513 in the real samples.
const (
	minInternalNode = 0x7FFFFFFF00000000
	logInode        = minInternalNode + 1
	statsInode      = minInternalNode + 3
	configInode     = minInternalNode + 4
)

// standin is one FUSE mount process of a stand-in volume: a loopback over
// the volume's backing directory whose reads go through the block cache.
type standin struct {
	vol        *volume // vol.mount is the backing directory
	mountpoint string
	log        *accessLog
	lim        *limiter // the mount's download bandwidth (format --bandwidth, FAKEJUICEFS_BANDWIDTH)
	started    time.Time
	failFrac   float64 // FAKEJUICEFS_FAIL_BLOCKS: these blocks' downloads fail (EIO), as a broken object
	nextFh     atomic.Uint64

	mu       sync.Mutex
	counters cacheCounters          // what this mount process did (reads); the CLI's work is in metaState.mountCounters
	metas    map[uint64]*knownFile  // by backing inode
	fetching map[string]*sync.Mutex // one download per block at a time
	changes  *changelogWriter       // the volume's metadata changelog (changelog.go)
}

type knownFile struct {
	size, mtimeNs int64
	fm            *fileMeta
}

func newStandin(vol *volume, mountpoint string) *standin {
	return &standin{vol: vol, mountpoint: mountpoint, log: newAccessLog(),
		lim: &limiter{bps: vol.set.Bandwidth * (1 << 20)}, started: time.Now(),
		metas: map[uint64]*knownFile{}, fetching: map[string]*sync.Mutex{},
		changes: &changelogWriter{dir: filepath.Join(vol.mount, stateDir), sid: uint64(os.Getpid())}}
}

// root builds the loopback's root node; every node below is a *node too.
func (s *standin) root() (fs.InodeEmbedder, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(s.vol.mount, &st); err != nil {
		return nil, err
	}
	lr := &fs.LoopbackRoot{Path: s.vol.mount, Dev: uint64(st.Dev)}
	// NodeWrapChilder, NewNode's replacement, is not told the child's name,
	// which decides whether it is the private state directory.
	//lint:ignore SA1019 the replacement cannot see the name (see above)
	lr.NewNode = func(r *fs.LoopbackRoot, parent *fs.Inode, name string, _ *syscall.Stat_t) fs.InodeEmbedder {
		private := false
		if parent != nil {
			pn, _ := parent.Operations().(*node)
			private = parent.IsRoot() && name == stateDir || pn != nil && pn.private
		}
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, s: s, private: private}
	}
	root := &node{LoopbackNode: fs.LoopbackNode{RootData: lr}, s: s}
	lr.RootNode = root
	return root, nil
}

// node is a file or directory of the volume, served from the backing
// directory, logging to .accesslog as a real client does.
type node struct {
	fs.LoopbackNode
	s       *standin
	private bool // the stand-in's private state (VOLUMEDIR/.fakejuicefs): not logged
}

// logit logs an operation on the node to .accesslog, unless the node is
// the stand-in's private state, which a real volume does not have.
func (n *node) logit(ctx context.Context, started time.Time, method string, err syscall.Errno, format string, args ...any) {
	if !n.private {
		n.s.log.logit(ctx, started, method, err, format, args...)
	}
}

var (
	_ = (fs.NodeLookuper)((*node)(nil))
	_ = (fs.NodeGetattrer)((*node)(nil))
	_ = (fs.NodeOpener)((*node)(nil))
	_ = (fs.NodeCreater)((*node)(nil))
	_ = (fs.NodeOpendirHandler)((*node)(nil))
)

// ino is the inode number the access log shows: 1 for the root, as JuiceFS.
func (n *node) ino() uint64 {
	if n.IsRoot() {
		return 1
	}
	return n.StableAttr().Ino
}

func (n *node) backing() string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()))
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.IsRoot() {
		if ino, ok := internalFiles[name]; ok { // not logged, as a real client
			v := &virtNode{s: n.s, name: name}
			v.attr(ino, &out.Attr)
			return n.NewInode(ctx, v, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino}), 0
		}
	}
	t := time.Now()
	ch, errno := n.LoopbackNode.Lookup(ctx, name, out)
	e := ""
	if errno == 0 {
		e = entryString(ch.StableAttr().Ino, &out.Attr)
	}
	if name != stateDir { // the CLI looking for the stand-in's state: no real client does that
		n.logit(ctx, t, "lookup", errno, "(%d,%s):%s", n.ino(), name, e)
	}
	return ch, errno
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	t := time.Now()
	errno := n.LoopbackNode.Getattr(ctx, f, out)
	e := ""
	if errno == 0 {
		e = entryString(n.ino(), &out.Attr)
	}
	n.logit(ctx, t, "getattr", errno, "(%d):%s", n.ino(), e)
	return errno
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	t := time.Now()
	f, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		n.logit(ctx, t, "open", errno, "(%d,%#x)", n.ino(), flags)
		return nil, 0, errno
	}
	h := n.s.wrap(n, f)
	n.logit(ctx, t, "open", 0, "(%d,%#x) [fh:%d]", n.ino(), flags, h.fh)
	return h, fl, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	t := time.Now()
	ch, f, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		n.logit(ctx, t, "create", errno, "(%d,%s,%s:0%04o): [fh:0]", n.ino(), name, modeString(mode), mode&07777)
		return nil, nil, 0, errno
	}
	cn, ok := ch.Operations().(*node)
	if !ok {
		return ch, f, fl, 0
	}
	h := n.s.wrap(cn, f)
	n.created(ctx, name, typeFile, mode, ch.StableAttr().Ino)
	n.logit(ctx, t, "create", 0, "(%d,%s,%s:0%04o):%s [fh:%d]", n.ino(), name, modeString(mode), mode&07777,
		entryString(ch.StableAttr().Ino, &out.Attr), h.fh)
	return ch, h, fl, 0
}

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	t := time.Now()
	ds, fl, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		n.logit(ctx, t, "opendir", errno, "(%d) [fh:0]", n.ino())
		return nil, 0, errno
	}
	d := &dirHandle{n: n, fh: n.s.nextFh.Add(1)}
	d.inner, _ = ds.(dirStream)
	n.logit(ctx, t, "opendir", 0, "(%d) [fh:%d]", n.ino(), d.fh)
	return d, fl, 0
}

// dirStream is what a loopback directory handle implements.
type dirStream interface {
	fs.FileReaddirenter
	fs.FileSeekdirer
	fs.FileReleasedirer
}

// dirHandle logs a directory listing as a real client's readdir lines:
// "readdir (ino,65536,off,true): (n)" for the entries handed out up to the
// end of the directory, and the kernel's next call at the end gives "(0)".
type dirHandle struct {
	n     *node
	fh    uint64
	inner dirStream
	off   int
	batch int
	start time.Time
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if d.batch == 0 {
		d.start = time.Now()
	}
	if d.inner == nil {
		return nil, syscall.EBADF
	}
	e, errno := d.inner.Readdirent(ctx)
	if e != nil && errno == 0 {
		d.batch++
		return e, 0
	}
	d.n.logit(ctx, d.start, "readdir", errno, "(%d,65536,%d,true): (%d)", d.n.ino(), d.off, d.batch)
	d.off += d.batch
	d.batch = 0
	return e, errno
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	d.off, d.batch = int(off), 0
	if d.inner == nil {
		return syscall.EBADF
	}
	return d.inner.Seekdir(ctx, off)
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	if d.inner != nil {
		d.inner.Releasedir(ctx, flags)
	}
	d.n.logit(ctx, time.Now(), "releasedir", 0, "(%d)", d.n.ino())
}

// fileHandle is an open file: reads go through the block cache.
type fileHandle struct {
	*fs.LoopbackFile
	n     *node
	fh    uint64
	owner uint64 // shown as the lock owner in flush lines
}

func (s *standin) wrap(n *node, f fs.FileHandle) *fileHandle {
	lf, _ := f.(*fs.LoopbackFile)
	return &fileHandle{LoopbackFile: lf, n: n, fh: s.nextFh.Add(1), owner: rand.Uint64()}
}

// PassthroughFd refuses kernel passthrough: every read must come here.
func (h *fileHandle) PassthroughFd() (int, bool) { return -1, false }

func (h *fileHandle) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	t := time.Now()
	n, errno := h.n.s.read(h.n.backing(), buf, off)
	if errno == syscall.ENOENT { // unlinked or renamed while open: read the open file itself
		r, e := h.LoopbackFile.Read(ctx, buf, off)
		if e != 0 {
			return r, e
		}
		data, st := r.Bytes(buf)
		n, errno = copy(buf, data), syscall.Errno(st)
	}
	h.n.logit(ctx, t, "read", errno, "(%d,%d,%d,%d): (%d)", h.n.ino(), len(buf), off, h.fh, n)
	return fuse.ReadResultData(buf[:n]), errno
}

func (h *fileHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	t := time.Now()
	n, errno := h.LoopbackFile.Write(ctx, data, off)
	h.n.logit(ctx, t, "write", errno, "(%d,%d,%d,%d)", h.n.ino(), len(data), off, h.fh)
	return n, errno
}

func (h *fileHandle) Flush(ctx context.Context) syscall.Errno {
	t := time.Now()
	errno := h.LoopbackFile.Flush(ctx)
	h.n.logit(ctx, t, "flush", errno, "(%d,%d,%016X)", h.n.ino(), h.fh, h.owner)
	return errno
}

func (h *fileHandle) Release(ctx context.Context) syscall.Errno {
	t := time.Now()
	errno := h.LoopbackFile.Release(ctx)
	h.n.logit(ctx, t, "release", errno, "(%d,%d)", h.n.ino(), h.fh)
	return errno
}

// internalFiles are the virtual files at the mount root.
var internalFiles = map[string]uint64{".accesslog": logInode, ".stats": statsInode, ".config": configInode}

// virtNode is .accesslog, .stats or .config.
type virtNode struct {
	fs.Inode
	s    *standin
	name string
}

var (
	_ = (fs.NodeGetattrer)((*virtNode)(nil))
	_ = (fs.NodeOpener)((*virtNode)(nil))
)

// attr: .accesslog and .config are root-only, .stats is world-readable
// (as measured on a real 1.4.1 client); sizes are 0, read with direct I/O.
func (v *virtNode) attr(ino uint64, a *fuse.Attr) {
	a.Ino = ino
	a.Mode = syscall.S_IFREG | 0o400
	if v.name == ".stats" {
		a.Mode = syscall.S_IFREG | 0o444
	}
	a.Nlink = 1
	s := uint64(v.s.started.Unix())
	a.Atime, a.Mtime, a.Ctime = s, s, s
}

func (v *virtNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	v.attr(v.StableAttr().Ino, &out.Attr)
	return 0
}

func (v *virtNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	t := time.Now()
	ino := v.StableAttr().Ino
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		v.s.log.logit(ctx, t, "open", syscall.EACCES, "(%d,%#x)", ino, flags)
		return nil, 0, syscall.EACCES
	}
	fh := v.s.nextFh.Add(1)
	var h fs.FileHandle
	switch v.name {
	case ".accesslog":
		h = &logHandle{s: v.s, r: v.s.log.open(), ino: ino, fh: fh}
	case ".stats":
		h = &dataHandle{s: v.s, data: []byte(v.s.statsText()), ino: ino, fh: fh}
	default:
		data, err := json.MarshalIndent(mountConfigJSON(v.s.mountpoint, v.s.vol.set), "", " ")
		if err != nil {
			return nil, 0, syscall.EIO
		}
		h = &dataHandle{s: v.s, data: data, ino: ino, fh: fh}
	}
	v.s.log.logit(ctx, t, "open", 0, "(%d,%#x) [fh:%d]", ino, flags, fh)
	return h, fuse.FOPEN_DIRECT_IO, 0
}

// logHandle is one reader of .accesslog.
type logHandle struct {
	s       *standin
	r       *logReader
	ino, fh uint64
}

func (h *logHandle) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return fuse.ReadResultData(buf[:h.r.read(buf)]), 0
}

func (h *logHandle) Release(ctx context.Context) syscall.Errno {
	h.s.log.close(h.r)
	h.s.log.logit(ctx, time.Now(), "release", 0, "(%d,%d)", h.ino, h.fh)
	return 0
}

// dataHandle is an open .stats or .config: a snapshot taken at open.
type dataHandle struct {
	s       *standin
	data    []byte
	ino, fh uint64
}

func (h *dataHandle) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	t := time.Now()
	n := 0
	if off < int64(len(h.data)) {
		n = copy(buf, h.data[off:])
	}
	h.s.log.logit(ctx, t, "read", 0, "(%d,%d,%d,%d): %d", h.ino, len(buf), off, h.fh, n)
	return fuse.ReadResultData(buf[:n]), 0
}

func (h *dataHandle) Release(ctx context.Context) syscall.Errno {
	h.s.log.logit(ctx, time.Now(), "release", 0, "(%d,%d)", h.ino, h.fh)
	return 0
}

// statsText is this mount's .stats: the block files present, the CLI's work
// through this mount (metaState.mountCounters), and this process's reads and ops.
func (s *standin) statsText() string {
	var c cacheCounters
	_ = s.vol.viewMeta(func(m *metaState) error {
		c = *m.mountCounters(s.mountpoint)
		return nil
	})
	s.mu.Lock()
	c.add(s.counters)
	s.mu.Unlock()
	vals := c.metrics(true)
	vals["juicefs_blockcache_blocks"], vals["juicefs_blockcache_bytes"] = s.vol.cachedBlocks()
	vals["juicefs_uptime"] = int64(time.Since(s.started).Seconds())
	s.log.opsTotals(vals)
	return statsText(vals)
}
