package agent

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/accesslog"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// Config is the agent's configuration (accel-agent's flags).
type Config struct {
	Mount     string // the JuiceFS mount point
	AccessLog string // default <Mount>/.accesslog
	Stats     string // default <Mount>/.stats
	Node      string // default the host name
	// Interval between reports; a job's last report goes at the first
	// report after its last process ended.
	Interval time.Duration
	// Buffer bounds the reports kept while warmupd is unreachable; beyond
	// it the oldest are dropped (and counted in the next report).
	Buffer       int
	ProcRoot     string // default /proc
	Mountinfo    string // default /proc/self/mountinfo
	PidCache     int    // pids remembered (LRU)
	InodeCache   int    // inodes remembered (LRU)
	MaxFiles     int    // files remembered per job for distinct counts
	DatasetDepth int
	SubpathDepth int
	// JuiceFS is the juicefs binary that resolves inodes no lookup line
	// named (juicefs info --inode, run in Mount); InfoRate caps those
	// look-ups per second (0: none), InfoConcurrency the look-ups at once.
	JuiceFS         string
	InfoRate        float64
	InfoConcurrency int
	// Reopen is the wait before reopening the access log after an error.
	Reopen time.Duration
	Client *api.Client
	// Metrics receives the agent's counters (nil: none).
	Metrics *Metrics
	Log     zerolog.Logger
	Now     func() time.Time
}

// Agent follows one mount's access log and reports to warmupd.
type Agent struct {
	cfg    Config
	mu     sync.Mutex
	agg    *Aggregator
	bad    int64
	queue  []api.AccessReport
	lost   int64 // reports dropped since the last one delivered
	ticks  int
	parser accesslog.Parser
	ctx    context.Context // Run's, for the name look-ups
	named  sync.Map        // job id -> []string: the datasets it named (asked from warmupd)
	res    *Resolver
}

// New builds an agent with defaults filled in.
func New(cfg Config) *Agent {
	if cfg.AccessLog == "" {
		cfg.AccessLog = filepath.Join(cfg.Mount, ".accesslog")
	}
	if cfg.Stats == "" {
		cfg.Stats = filepath.Join(cfg.Mount, ".stats")
	}
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1000
	}
	if cfg.Reopen <= 0 {
		cfg.Reopen = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = &api.Client{}
	}
	a := &Agent{cfg: cfg}
	a.agg = &Aggregator{
		Mount: filepath.Clean(cfg.Mount), DatasetDepth: cfg.DatasetDepth, SubpathDepth: cfg.SubpathDepth, MaxFiles: cfg.MaxFiles,
		Jobs: NewJobs(cfg.ProcRoot, max(cfg.PidCache, 1024)), Inodes: NewInodes(max(cfg.InodeCache, 1024)),
		Stats: a.readStats, Named: a.namedDatasets, NewJob: a.askNames,
	}
	a.ctx = context.Background()
	if cfg.JuiceFS != "" && cfg.InfoRate > 0 {
		drv := &jfs.Driver{Binary: cfg.JuiceFS, Dir: cfg.Mount, Log: cfg.Log}
		a.res = &Resolver{Info: drv.InfoInode, Rate: cfg.InfoRate, Concurrency: max(cfg.InfoConcurrency, 1),
			Timeout: DefaultInfoTimeout, NegativeTTL: DefaultInfoNegativeTTL, Now: cfg.Now, Metrics: cfg.Metrics}
		a.agg.Resolve = a.resolve
	}
	return a
}

// resolve is the aggregator's Resolve (called with a.mu held): the answer
// comes back under a.mu.
func (a *Agent) resolve(ino uint64) bool {
	return a.res.Start(a.ctx, ino, func(rel string, length int64, ok bool) {
		if !ok {
			a.cfg.Log.Debug().Uint64("inode", ino).Msg("juicefs info --inode found no path; its reads count as unresolved")
		}
		a.mu.Lock()
		a.agg.Resolved(ino, rel, length, ok)
		a.mu.Unlock()
	})
}

// namedDatasets is the aggregator's Named: the job's datasets once warmupd
// answered.
func (a *Agent) namedDatasets(job uint64) ([]string, bool) {
	v, ok := a.named.Load(job)
	if !ok {
		return nil, false
	}
	return v.([]string), true
}

// askNames asks warmupd, in the background, which datasets a job named
// (GET /v1/jobs/ID); a job warmupd does not know, or that cannot be asked
// about, named none.
func (a *Agent) askNames(job uint64) {
	go func() {
		ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
		defer cancel()
		st, err := a.cfg.Client.JobStatus(ctx, job)
		var names []string
		if err == nil {
			for _, d := range st.Datasets {
				names = append(names, d.Path)
			}
		} else if !isNotFound(err) {
			a.cfg.Log.Debug().Err(err).Uint64("job", job).Msg("cannot ask warmupd for the job's datasets; its reads go by depth")
		}
		a.named.Store(job, names) // after an error: none, so its files go by depth
	}()
}

func isNotFound(err error) bool {
	var se *api.StatusError
	return errors.As(err, &se) && se.Code == 404
}

func (a *Agent) readStats() (Counters, bool) {
	f, err := os.Open(a.cfg.Stats)
	if err != nil {
		return Counters{}, false
	}
	defer f.Close()
	m, err := jfs.ParseStats(f)
	if err != nil {
		return Counters{}, false
	}
	return CountersFrom(m), true
}

// Run follows the access log and reports every Interval until ctx ends,
// then sends what it has once more.
func (a *Agent) Run(ctx context.Context) error {
	a.ctx = ctx
	go a.follow(ctx)
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			a.Flush(fctx)
			cancel()
			return nil
		case <-t.C:
			a.Flush(ctx)
		}
	}
}

// follow reads the access log, reopening it after EOF or an error (a
// FIFO's writer went away, the mount restarted).
func (a *Agent) follow(ctx context.Context) {
	logged := false
	for ctx.Err() == nil {
		f, err := os.Open(a.cfg.AccessLog)
		if err != nil {
			if !logged {
				a.cfg.Log.Warn().Err(err).Str("accesslog", a.cfg.AccessLog).Msg("cannot open the access log (is JuiceFS mounted, is the agent root?); retrying")
				logged = true
			}
			sleep(ctx, a.cfg.Reopen)
			continue
		}
		if logged {
			a.cfg.Log.Info().Str("accesslog", a.cfg.AccessLog).Msg("access log open again")
			logged = false
		}
		err = a.consume(ctx, f)
		f.Close()
		if err != nil && ctx.Err() == nil {
			a.cfg.Log.Debug().Err(err).Msg("access log ended; reopening")
		}
	}
}

// consume parses lines until EOF or an error.
func (a *Agent) consume(ctx context.Context, f *os.File) error {
	r := bufio.NewReaderSize(f, 256<<10)
	var e accesslog.Entry
	skip := false
	for ctx.Err() == nil {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			skip = true // an overlong line: not JuiceFS's; drop it whole
			continue
		}
		if len(line) > 0 && !skip {
			a.observe(line, &e)
		}
		skip = false
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Observe feeds one access-log line, as if read from the log.
func (a *Agent) Observe(line []byte) {
	var e accesslog.Entry
	a.observe(line, &e)
}

func (a *Agent) observe(line []byte, e *accesslog.Entry) {
	if err := a.parser.Parse(line, e); err != nil {
		a.mu.Lock()
		a.bad++
		a.mu.Unlock()
		return
	}
	a.mu.Lock()
	a.agg.Observe(e)
	a.mu.Unlock()
}

// Flush makes a report of what was added up since the last one, queues it
// and sends the queue in order; what warmupd does not take stays queued,
// up to Buffer reports (the oldest are dropped first and counted).
func (a *Agent) Flush(ctx context.Context) {
	a.mu.Lock()
	jobs, lines, dropped, unattr, unres := a.agg.Report(a.agg.Jobs.Alive)
	a.agg.Jobs.Sweep()
	a.ticks++
	a.mu.Unlock()
	a.cfg.Metrics.interval(lines, dropped, unattr, unres)
	rep := api.AccessReport{Node: a.cfg.Node, Mount: a.cfg.Mount, Jobs: jobs, Lines: lines, Dropped: dropped,
		UnattributedBytes: unattr, UnresolvedBytes: unres, At: a.cfg.Now()}
	if a.ticks == 1 || a.ticks%20 == 0 {
		mr, err := ReadMount(a.cfg.Mount, a.cfg.Mountinfo)
		if err != nil {
			a.cfg.Log.Warn().Err(err).Msg("mount configuration")
		}
		rep.Config = mr
	}
	for _, j := range jobs {
		if j.Final {
			a.logJob(j)
			a.named.Delete(j.JobID)
		}
	}
	if len(jobs) > 0 || rep.Config != nil || dropped > 0 || unattr > 0 || unres > 0 {
		a.queue = append(a.queue, split(rep, maxPathsPerReport)...)
	}
	if over := len(a.queue) - a.cfg.Buffer; over > 0 {
		a.queue = append(a.queue[:0:0], a.queue[over:]...)
		a.lost += int64(over)
		a.cfg.Metrics.dropped(over)
	}
	for len(a.queue) > 0 {
		r := a.queue[0]
		r.ReportsDropped = a.lost
		if _, err := a.cfg.Client.ReportAccess(ctx, r); err != nil {
			a.cfg.Log.Warn().Err(err).Int("queued", len(a.queue)).Msg("cannot report to warmupd; keeping the report")
			var se *api.StatusError
			if errors.As(err, &se) && se.Code/100 == 4 { // refused: sending it again will not help
				a.cfg.Metrics.report(ReportRefused)
				a.cfg.Metrics.dropped(1)
				a.queue = a.queue[1:]
				a.lost++
				continue
			}
			a.cfg.Metrics.report(ReportError)
			return
		}
		a.cfg.Metrics.report(ReportOK)
		a.lost = 0
		a.queue = a.queue[1:]
	}
}

// maxPathsPerReport bounds the path entries of one report, so a report
// stays well below warmupd's request size limit (1 MiB).
const maxPathsPerReport = 2000

// split cuts a report into reports of at most max path entries (a job's
// paths may spread over several; the node-wide counts and the mount
// configuration go with the first, a job's final flag and counters with
// its last part).
func split(r api.AccessReport, max int) []api.AccessReport {
	n := 0
	for _, j := range r.Jobs {
		n += len(j.Paths)
	}
	if n <= max {
		return []api.AccessReport{r}
	}
	var out []api.AccessReport
	cur := r
	cur.Jobs, n = nil, 0
	flush := func() {
		out = append(out, cur)
		cur = api.AccessReport{Node: r.Node, Mount: r.Mount, At: r.At}
		n = 0
	}
	for _, j := range r.Jobs {
		paths := j.Paths
		for len(paths) > max-n {
			part := api.JobAccess{JobID: j.JobID, Paths: paths[:max-n]}
			paths = paths[max-n:]
			cur.Jobs = append(cur.Jobs, part)
			flush()
		}
		j.Paths = paths
		cur.Jobs = append(cur.Jobs, j)
		n += len(paths)
	}
	if len(cur.Jobs) > 0 {
		flush()
	}
	return out
}

// logJob writes the agent's line for a job that ended on this node.
func (a *Agent) logJob(j api.JobAccess) {
	var bytes, files int64
	for _, p := range j.Paths {
		bytes += p.Bytes
		files += p.Files
	}
	ev := a.cfg.Log.Info().Uint64("job", j.JobID).Str("node", a.cfg.Node).Int64("bytes_read", bytes).Int64("files", files).
		Int64("hit_bytes", j.HitBytes).Int64("miss_bytes", j.MissBytes).Int64("get_bytes", j.GetBytes)
	if t := j.HitBytes + j.MissBytes; t > 0 {
		ev = ev.Float64("hit_ratio", float64(j.HitBytes)/float64(t))
	}
	ev.Msg("job ended on this node")
}

// Queued is the number of reports waiting for warmupd.
func (a *Agent) Queued() int { return len(a.queue) }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
