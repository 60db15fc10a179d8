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

	Jobs   *Jobs
	Inodes *Inodes
	Gaps   accesslog.Gaps

	jobs                                           map[uint64]*jobAcc
	lines, unattributed, unresolved, nonJob, reads int64
}

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
	acc  *pathAcc
}

type pathAcc struct {
	api.PathAccess
}

func (a *Aggregator) init() {
	if a.jobs == nil {
		a.jobs = map[uint64]*jobAcc{}
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
	f := j.files[e.Inode]
	if f == nil {
		p, ok := a.Inodes.Path(e.Inode)
		if !ok {
			a.unresolved += e.Bytes
			return
		}
		if len(j.files) >= a.MaxFiles {
			j.files = map[uint64]*fileAcc{} // forget: later reads count as new files (an upper bound)
		}
		ds, sub := a.split(p)
		key := [2]string{ds, sub}
		acc := j.paths[key]
		if acc == nil {
			acc = &pathAcc{PathAccess: api.PathAccess{Dataset: ds, Subpath: sub, First: e.Time}}
			j.paths[key] = acc
		}
		acc.Files++
		f = &fileAcc{acc: acc}
		j.files[e.Inode] = f
	}
	acc := f.acc
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

// split turns a path relative to the mount into (absolute dataset,
// subpath relative to it).
func (a *Aggregator) split(rel string) (string, string) {
	parts := strings.Split(rel, "/")
	dir := parts[:len(parts)-1] // the file's directories
	if len(dir) < a.DatasetDepth {
		// a file at or above the dataset level: its directory is the dataset
		return path.Join(a.Mount, strings.Join(dir, "/")), "."
	}
	ds := path.Join(a.Mount, strings.Join(dir[:a.DatasetDepth], "/"))
	rest := dir[a.DatasetDepth:]
	if len(rest) == 0 || a.SubpathDepth == 0 {
		return ds, "."
	}
	return ds, strings.Join(rest[:min(len(rest), a.SubpathDepth)], "/")
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
