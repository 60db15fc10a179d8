package dedup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// SliceSource gives a file's JuiceFS slice list in a canonical form: two
// files with equal non-empty keys share all their data. On JuiceFS it is
// backed by `juicefs info --raw`.
type SliceSource interface {
	SliceKey(ctx context.Context, path string) (string, error)
}

// DefaultMemoryLimit bounds the in-memory size partitions (256 MiB, about
// two million files).
const DefaultMemoryLimit = 256 << 20

// Options tune a scan. The zero value works.
type Options struct {
	// FS is read through; nil means LocalFS.
	FS FS
	// Workers walk directories and compare groups in parallel; 0 means 4×GOMAXPROCS (I/O bound).
	Workers int
	// Shards is the number of size partitions (size % Shards); 0 means 100.
	Shards int
	// MemoryLimit is how many bytes of encoded file entries (about 40 bytes
	// plus the path each) stay in memory before partitions spill to
	// SpillDir; 0 means DefaultMemoryLimit.
	MemoryLimit int
	// SpillDir holds spilled partitions; "" means the system temp dir.
	SpillDir string
	// MaxOpen caps the files of one group compared in lockstep; larger groups
	// are split by SHA-256 first. 0 means 32.
	MaxOpen int
	// NoHash leaves Group.SHA256 empty for groups compared in lockstep
	// (about a third less CPU). Duplicates are still proven byte for byte,
	// and apply still compares every duplicate with the kept file.
	NoHash bool
	// Slices, when set, is asked for the slice list of every same-size
	// candidate; files with equal lists are reported as shared unread.
	Slices SliceSource
	// Progress, when set, is updated as the scan goes.
	Progress *Progress
	// Log receives per-file problems at debug level.
	Log zerolog.Logger
	// Now stamps the report; nil means time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.FS == nil {
		o.FS = LocalFS{}
	}
	if o.Workers <= 0 {
		o.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	if o.Shards <= 0 {
		o.Shards = 100
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.MaxOpen < 2 {
		o.MaxOpen = 32
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// scan is the state shared by the collection and comparison phases.
type scan struct {
	opts   Options
	parts  *partitions
	mu     sync.Mutex
	report Report
	// canRead is false for a dump without a mount: data cannot be compared.
	canRead bool
	// links holds the inodes with several links already counted.
	links map[[2]uint64]bool
	// sliceWarn says once that slice lists cannot be read.
	sliceWarn sync.Once
}

func newScan(opts Options, source string, roots []string) *scan {
	opts.defaults()
	s := &scan{opts: opts, parts: newPartitions(opts.Shards, opts.MemoryLimit, spillDir(opts.SpillDir)), canRead: true}
	s.report = Report{ReportHeader: ReportHeader{Version: ReportVersion, Created: opts.Now().UTC(), Source: source}}
	for _, r := range roots {
		s.report.Roots = append(s.report.Roots, Path(r))
	}
	return s
}

func (s *scan) addError(path string, err error) {
	s.opts.Log.Debug().Str("path", path).Err(err).Msg("unreadable")
	s.mu.Lock()
	s.report.Errors = append(s.report.Errors, ScanError{Path: Path(path), Error: err.Error()})
	s.mu.Unlock()
}

func (s *scan) add(e entry) error {
	if e.Info.Nlink <= 1 || s.firstLink(e.Info) {
		s.opts.Progress.Files.Add(1)
		s.opts.Progress.Bytes.Add(e.Info.Size)
	}
	return s.parts.add(e)
}

// firstLink reports whether a hard-linked inode is seen for the first time,
// so that it counts once in the totals (only inodes with several links are
// remembered).
func (s *scan) firstLink(fi FileInfo) bool {
	k := [2]uint64{fi.Dev, fi.Ino}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.links[k] {
		return false
	}
	if s.links == nil {
		s.links = map[[2]uint64]bool{}
	}
	s.links[k] = true
	return true
}

// Scan walks roots (directories or files) and reports duplicate files.
// Unreadable files and directories are listed in Report.Errors; the error
// return is for failures that stop the whole scan.
func Scan(ctx context.Context, roots []string, opts Options) (*Report, error) {
	abs := make([]string, 0, len(roots))
	for _, r := range roots {
		a, err := filepath.Abs(r)
		if err != nil {
			return nil, err
		}
		// a root given as a symlink is followed (like find -H); links
		// met during the walk are not
		if fi, err := os.Lstat(a); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if a, err = filepath.EvalSymlinks(a); err != nil {
				return nil, fmt.Errorf("scan root %s: %w", r, err)
			}
		}
		abs = append(abs, a)
	}
	s := newScan(opts, "walk", abs)
	defer s.parts.close()
	w := &walker{
		fs:      s.opts.FS,
		workers: s.opts.Workers,
		onFile: func(dir uint32, name string, fi FileInfo) error {
			return s.add(entry{Dir: dir, Name: name, Info: fi})
		},
		dirID: s.parts.dirID,
		onErr: s.addError,
		onSkip: func(p, why string) {
			s.opts.Log.Debug().Str("path", p).Str("why", why).Msg("skipped")
		},
	}
	if err := w.walk(ctx, abs); err != nil {
		return nil, err
	}
	return s.compare(ctx)
}

// compare takes the partitions one by one, splits them into size groups and
// compares each group on a pool of workers.
func (s *scan) compare(ctx context.Context) (*Report, error) {
	s.opts.Progress.Comparing.Store(true)
	jobs := make(chan []entry, s.opts.Workers)
	var wg sync.WaitGroup
	for i := 0; i < s.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				if ctx.Err() == nil {
					s.group(ctx, g)
				}
			}
		}()
	}
	var err error
	for i := 0; i < len(s.parts.shards) && err == nil; i++ {
		var es []entry
		es, err = s.parts.take(i)
		for len(es) > 0 && err == nil {
			j := 1
			for j < len(es) && es[j].Info.Size == es[0].Info.Size {
				j++
			}
			if j >= 2 && !allSameInode(es[:j]) {
				s.opts.Progress.ToRead.Add(es[0].Info.Size * int64(j))
				select {
				case jobs <- es[:j:j]:
				case <-ctx.Done():
					err = ctx.Err()
				}
			}
			es = es[j:]
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	s.report.HashedBytes = s.opts.Progress.Read.Load()
	s.report.Files = s.opts.Progress.Files.Load()
	s.report.Bytes = s.opts.Progress.Bytes.Load()
	s.report.SpilledBytes = s.parts.spilled
	s.report.finish()
	r := s.report
	return &r, nil
}

func allSameInode(es []entry) bool {
	for _, e := range es[1:] {
		if e.Info.Dev != es[0].Info.Dev || e.Info.Ino != es[0].Info.Ino {
			return false
		}
	}
	return true
}

// group handles the files of one size: hard links merged, shared slices
// found, then prefix and full comparison.
func (s *scan) group(ctx context.Context, es []entry) {
	size := es[0].Info.Size
	byInode := map[[2]uint64]*member{}
	var ms []*member
	for _, e := range es {
		k := [2]uint64{e.Info.Dev, e.Info.Ino}
		if m, ok := byInode[k]; ok {
			if e.Path != m.e.Path && !slices.Contains(m.links, e.Path) { // overlapping roots list a path twice
				m.links = append(m.links, e.Path)
			}
			continue
		}
		m := &member{e: e}
		byInode[k] = m
		ms = append(ms, m)
	}
	if len(ms) < 2 {
		return
	}
	var groups []Group
	// Files sharing every slice are reported without reading them; one of
	// each stays in the running for the content comparison.
	if s.opts.Slices != nil || ms[0].e.Slices != "" {
		bySlices := map[string][]*member{}
		var rest []*member
		var keys []string
		for _, m := range ms {
			k := m.e.Slices
			if k == "" && s.opts.Slices != nil {
				var err error
				if k, err = s.opts.Slices.SliceKey(ctx, m.e.Path); err != nil {
					s.sliceWarn.Do(func() {
						s.opts.Log.Warn().Str("path", m.e.Path).Err(err).
							Msg("cannot read JuiceFS slice lists (check --juicefs); comparing file data instead (more in --verbose)")
					})
					s.opts.Log.Debug().Str("path", m.e.Path).Err(err).Msg("no slice list; comparing data")
					k = ""
				}
			}
			if k == "" {
				rest = append(rest, m)
				continue
			}
			if _, ok := bySlices[k]; !ok {
				keys = append(keys, k)
			}
			bySlices[k] = append(bySlices[k], m)
		}
		for _, k := range keys {
			set := bySlices[k]
			if len(set) >= 2 {
				groups = append(groups, Group{State: StateShared, Size: size, Files: refs(set)})
			}
			rest = append(rest, set[0])
		}
		ms = rest
	}
	if len(ms) >= 2 && !s.canRead {
		groups = append(groups, Group{State: StateUnverified, Size: size, Files: refs(ms)})
		ms = nil
	}
	if len(ms) >= 2 {
		c := &comparer{fs: s.opts.FS, maxOpen: s.opts.MaxOpen, noHash: s.opts.NoHash,
			onRead: func(n int64) { s.opts.Progress.Read.Add(n) }, onErr: s.addError}
		for _, pc := range c.byPrefix(ms, size) {
			if len(pc.ms) < 2 {
				continue
			}
			if size <= PrefixSize { // the prefix was the whole content
				g := Group{State: StateDuplicate, Size: size, Files: refs(pc.ms)}
				if !s.opts.NoHash {
					g.SHA256 = sumBytes([]byte(pc.prefix))
				}
				groups = append(groups, g)
				continue
			}
			sets, sums := c.equalSets(pc.ms, size)
			for i, set := range sets {
				groups = append(groups, Group{State: StateDuplicate, Size: size, SHA256: sums[i], Files: refs(set)})
			}
		}
	}
	if len(groups) > 0 {
		s.mu.Lock()
		s.report.Groups = append(s.report.Groups, groups...)
		s.mu.Unlock()
	}
}

func refs(ms []*member) []FileRef {
	out := make([]FileRef, len(ms))
	for i, m := range ms {
		out[i] = m.ref()
	}
	return out
}
