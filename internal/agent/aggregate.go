package agent

import (
	"path"
	"sort"
	"strings"
	"time"

	"github.com/accel-data/accel-data/internal/accesslog"
	"github.com/accel-data/accel-data/pkg/api"
)

// Counters are the mount's .stats counters a job report needs.
type Counters struct {
	HitBytes, MissBytes, GetBytes int64
}

// The .stats names of Counters.
const (
	StatHitBytes  = "juicefs_blockcache_hit_bytes"
	StatMissBytes = "juicefs_blockcache_miss_bytes"
	StatGetBytes  = "juicefs_object_request_data_bytes_GET"
)

// CountersFrom picks Counters out of a parsed .stats.
func CountersFrom(m map[string]float64) Counters {
	return Counters{HitBytes: int64(m[StatHitBytes]), MissBytes: int64(m[StatMissBytes]), GetBytes: int64(m[StatGetBytes])}
}

func (c Counters) minus(o Counters) Counters {
	d := Counters{c.HitBytes - o.HitBytes, c.MissBytes - o.MissBytes, c.GetBytes - o.GetBytes}
	if d.HitBytes < 0 || d.MissBytes < 0 || d.GetBytes < 0 { // the mount restarted: counters began again
		return c
	}
	return d
}

// Aggregator adds up what each job read, per dataset × subdirectory. It is
// not safe for concurrent use (the agent holds a lock around it).
type Aggregator struct {
	// Mount is the mount point (paths in reports are absolute under it).
	Mount string
	// DatasetDepth is how many path components below the mount name a
	// dataset (1: /jfs/ds); SubpathDepth how many below the dataset name a
	// subpath (1: /jfs/ds/train).
	DatasetDepth, SubpathDepth int
	// MaxFiles bounds the files remembered per job for distinct counts.
	MaxFiles int
	// Stats reads the mount's counters now (called when a job first shows
	// and at each report); nil: no counters.
	Stats func() (Counters, bool)
	// Named returns the datasets a job named (--accel-data), once known: a
	// file under one of them belongs to the longest, else the dataset is
	// DatasetDepth components below the mount. Files read before the names
	// are known wait for them (they are left out of reports until then, or
	// go by depth when the job ends first). Nil: depth only.
	Named func(job uint64) (names []string, known bool)
	// NewJob is called when a job first shows (e.g. to ask for its names).
	NewJob func(job uint64)
	// Resolve asks, in the background, for the path of an inode a job read
	// with no lookup seen (a Resolver); false: it cannot now, and the read
	// counts as unresolved. The answer comes back through Resolved; until
	// then the inode's reads wait. Nil: reads of unknown inodes are
	// unresolved.
	Resolve func(ino uint64) bool

	Jobs   *Jobs
	Inodes *Inodes
	Gaps   accesslog.Gaps

	jobs                            map[uint64]*jobAcc
	lines, unattributed, unresolved int64
	waiting                         map[uint64][]heldRead // inode -> its reads while Resolve looks it up
}

// heldRead is a job's reads of an inode being resolved (consecutive reads
// of one job are merged).
type heldRead struct {
	job         uint64
	bytes       int64
	first, last time.Time
}

// maxHeld bounds the held reads of one inode; beyond, reads are unresolved.
const maxHeld = 1024

type jobAcc struct {
	id    uint64
	pids  map[uint32]struct{}
	files map[uint64]*fileAcc
	paths map[[2]string]*pathAcc
	base  Counters // .stats at the previous report (or when first seen)
	has   bool     // base is valid
}

type fileAcc struct {
	read int64
	acc  *pathAcc       // nil until the file is classified
	rel  string         // path below the mount, until classified
	pend api.PathAccess // what was read before it was classified
}

type pathAcc struct {
	api.PathAccess
}

func (a *Aggregator) init() {
	if a.jobs == nil {
		a.jobs = map[uint64]*jobAcc{}
		a.waiting = map[uint64][]heldRead{}
	}
	if a.DatasetDepth <= 0 {
		a.DatasetDepth = 1
	}
	if a.SubpathDepth < 0 {
		a.SubpathDepth = 0
	}
	if a.MaxFiles <= 0 {
		a.MaxFiles = 1 << 20
	}
}

// Observe feeds one parsed line.
func (a *Aggregator) Observe(e *accesslog.Entry) {
	a.init()
	a.lines++
	a.Gaps.Observe(e)
	switch e.Op {
	case accesslog.OpLookup, accesslog.OpCreate:
		if e.OK() && e.Inode != 0 && e.Op == accesslog.OpLookup {
			a.Inodes.Learn(e.Parent, e.Inode, e.Child, e.Length, e.IsDir)
		}
		a.job(e.PID) // note the pid while the process lives
	case accesslog.OpGetattr:
		if e.OK() && !e.IsDir {
			a.Inodes.SetLength(e.Inode, e.Length)
		}
	case accesslog.OpOpen:
		a.job(e.PID)
	case accesslog.OpRead:
		if e.OK() && e.Bytes > 0 {
			a.read(e)
		}
	}
}

// job returns the accumulator of pid's job, nil when none.
func (a *Aggregator) job(pid uint32) (*jobAcc, bool) {
	if pid == 0 {
		return nil, false
	}
	id, ok := a.Jobs.Job(pid)
	if !ok || id == 0 {
		return nil, ok
	}
	j := a.jobs[id]
	if j == nil {
		j = &jobAcc{id: id, pids: map[uint32]struct{}{}, files: map[uint64]*fileAcc{}, paths: map[[2]string]*pathAcc{}}
		if a.Stats != nil {
			j.base, j.has = a.Stats()
		}
		a.jobs[id] = j
		if a.NewJob != nil {
			a.NewJob(id)
		}
	}
	j.pids[pid] = struct{}{}
	return j, true
}

func (a *Aggregator) read(e *accesslog.Entry) {
	j, _ := a.job(e.PID)
	if j == nil { // gone before we saw it, or outside any job
		a.unattributed += e.Bytes
		return
	}
	if _, ok := j.files[e.Inode]; !ok {
		if _, ok := a.Inodes.Path(e.Inode); !ok {
			a.hold(j.id, e)
			return
		}
	}
	a.readJob(j, e)
}

// hold keeps a read of an inode whose path is unknown until Resolve
// answers (asking it at the inode's first such read).
func (a *Aggregator) hold(job uint64, e *accesslog.Entry) {
	held, waiting := a.waiting[e.Inode]
	if !waiting && (a.Resolve == nil || !a.Resolve(e.Inode)) {
		a.unresolved += e.Bytes
		return
	}
	if n := len(held); n > 0 && held[n-1].job == job {
		held[n-1].bytes += e.Bytes
		held[n-1].last = e.Time
		return
	}
	if len(held) >= maxHeld {
		a.unresolved += e.Bytes
		return
	}
	a.waiting[e.Inode] = append(held, heldRead{job: job, bytes: e.Bytes, first: e.Time, last: e.Time})
}

// Resolved takes Resolve's answer for ino: its path relative to the mount
// and length (-1: unknown), or !ok. The reads held for it are added up
// under the path, or counted unresolved (also those of a job whose final
// report went meanwhile).
func (a *Aggregator) Resolved(ino uint64, rel string, length int64, ok bool) {
	a.init()
	held := a.waiting[ino]
	delete(a.waiting, ino)
	if ok {
		a.Inodes.LearnPath(ino, rel, length)
	}
	for _, h := range held {
		j := a.jobs[h.job]
		if !ok || j == nil {
			a.unresolved += h.bytes
			continue
		}
		e := accesslog.Entry{Inode: ino, Bytes: h.bytes, Time: h.first}
		a.readJob(j, &e)
		if h.last.After(h.first) {
			e.Bytes, e.Time = 0, h.last
			a.readJob(j, &e)
		}
	}
}

// readJob adds a read of an inode with a known path to job j.
func (a *Aggregator) readJob(j *jobAcc, e *accesslog.Entry) {
	f := j.files[e.Inode]
	if f == nil {
		p, _ := a.Inodes.Path(e.Inode)
		if len(j.files) >= a.MaxFiles {
			j.files = map[uint64]*fileAcc{} // forget: later reads count as new files (an upper bound)
		}
		f = &fileAcc{rel: p}
		j.files[e.Inode] = f
		if names, known := a.names(j.id); known {
			a.classify(j, f, names)
		}
	}
	acc := &f.pend
	if f.acc != nil {
		acc = &f.acc.PathAccess
	}
	before := f.read
	f.read += e.Bytes
	if n := a.Inodes.Length(e.Inode); n >= 0 {
		acc.DistinctBytes += min(n, f.read) - min(n, before)
	} else {
		acc.DistinctBytes += e.Bytes
	}
	acc.Bytes += e.Bytes
	if acc.First.IsZero() || e.Time.Before(acc.First) {
		acc.First = e.Time
	}
	if e.Time.After(acc.Last) {
		acc.Last = e.Time
	}
}

func (a *Aggregator) names(job uint64) ([]string, bool) {
	if a.Named == nil {
		return nil, true
	}
	return a.Named(job)
}

// classify puts a file in its dataset × subpath bucket, with what was read
// of it so far.
func (a *Aggregator) classify(j *jobAcc, f *fileAcc, names []string) {
	ds, sub := a.split(f.rel, names)
	key := [2]string{ds, sub}
	acc := j.paths[key]
	if acc == nil {
		acc = &pathAcc{PathAccess: api.PathAccess{Dataset: ds, Subpath: sub}}
		j.paths[key] = acc
	}
	acc.Files++
	acc.Bytes += f.pend.Bytes
	acc.DistinctBytes += f.pend.DistinctBytes
	if !f.pend.First.IsZero() && (acc.First.IsZero() || f.pend.First.Before(acc.First)) {
		acc.First = f.pend.First
	}
	if f.pend.Last.After(acc.Last) {
		acc.Last = f.pend.Last
	}
	f.acc, f.rel, f.pend = acc, "", api.PathAccess{}
}

// split turns a path relative to the mount into (absolute dataset,
// subpath relative to it): the longest of names the file is under, else
// the first DatasetDepth components below the mount.
func (a *Aggregator) split(rel string, names []string) (string, string) {
	abs := path.Join(a.Mount, rel)
	best := ""
	for _, n := range names {
		if len(n) > len(best) && strings.HasPrefix(abs, strings.TrimSuffix(n, "/")+"/") {
			best = strings.TrimSuffix(n, "/")
		}
	}
	if best != "" {
		return best, a.subpath(strings.Split(strings.TrimPrefix(abs, best+"/"), "/"))
	}
	parts := strings.Split(rel, "/")
	dir := parts[:len(parts)-1] // the file's directories
	if len(dir) < a.DatasetDepth {
		// a file at or above the dataset level: its directory is the dataset
		return path.Join(a.Mount, strings.Join(dir, "/")), "."
	}
	return path.Join(a.Mount, strings.Join(dir[:a.DatasetDepth], "/")), a.subpath(parts[a.DatasetDepth:])
}

// subpath is the first SubpathDepth directories of a path below a dataset
// (its last component is the file), "." when none.
func (a *Aggregator) subpath(below []string) string {
	dir := below[:len(below)-1]
	if len(dir) == 0 || a.SubpathDepth == 0 {
		return "."
	}
	return strings.Join(dir[:min(len(dir), a.SubpathDepth)], "/")
}

// Report takes what was added up since the previous Report: one JobAccess
// per job with reads or a final word, the node-wide counts, and resets the
// deltas. alive tells whether a pid still runs; a job none of whose pids
// runs is final and forgotten.
func (a *Aggregator) Report(alive func(pid uint32) bool) (jobs []api.JobAccess, lines, dropped, unattributed, unresolved int64) {
	a.init()
	var now Counters
	var have bool
	if a.Stats != nil && len(a.jobs) > 0 {
		now, have = a.Stats()
	}
	for id, j := range a.jobs {
		ja := api.JobAccess{JobID: id}
		for pid := range j.pids {
			if !alive(pid) {
				delete(j.pids, pid)
				a.Jobs.Forget(pid)
			}
		}
		ja.Final = len(j.pids) == 0
		// Files still waiting for the job's names wait for the next report,
		// unless the job ended: then they go by depth.
		if names, known := a.names(id); known || ja.Final {
			for _, f := range j.files {
				if f.acc == nil {
					a.classify(j, f, names)
				}
			}
		}
		if have && j.has {
			d := now.minus(j.base)
			ja.HitBytes, ja.MissBytes, ja.GetBytes = d.HitBytes, d.MissBytes, d.GetBytes
		}
		j.base, j.has = now, have
		for _, p := range j.paths {
			if p.Bytes > 0 || p.Files > 0 {
				ja.Paths = append(ja.Paths, p.PathAccess)
			}
			p.Bytes, p.DistinctBytes, p.Files = 0, 0, 0
			p.First, p.Last = time.Time{}, time.Time{}
		}
		sort.Slice(ja.Paths, func(x, y int) bool {
			if ja.Paths[x].Dataset != ja.Paths[y].Dataset {
				return ja.Paths[x].Dataset < ja.Paths[y].Dataset
			}
			return ja.Paths[x].Subpath < ja.Paths[y].Subpath
		})
		if ja.Final {
			delete(a.jobs, id)
		}
		if ja.Final || len(ja.Paths) > 0 || ja.HitBytes+ja.MissBytes+ja.GetBytes > 0 {
			jobs = append(jobs, ja)
		}
	}
	sort.Slice(jobs, func(x, y int) bool { return jobs[x].JobID < jobs[y].JobID })
	lines, dropped, unattributed, unresolved = a.lines, a.Gaps.Missed, a.unattributed, a.unresolved
	a.lines, a.Gaps.Missed, a.unattributed, a.unresolved = 0, 0, 0, 0
	return jobs, lines, dropped, unattributed, unresolved
}
