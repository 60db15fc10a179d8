// Command warmupd is accel-data's daemon: it owns the SQLite warm-up queue,
// serves the v1 API on a unix socket, and runs `juicefs warmup` against the
// shared JuiceFS cache. See `warmupd --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/internal/cachemgr"
	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/internal/retry"
	"github.com/accel-data/accel-data/internal/scheduler"
	"github.com/accel-data/accel-data/internal/server"
	"github.com/accel-data/accel-data/internal/shardjob"
	"github.com/accel-data/accel-data/internal/slurmwatch"
	"github.com/accel-data/accel-data/internal/version"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/shard"
)

const usage = `warmupd — accel-data's warm-up daemon.

warmupd keeps a deduplicated priority queue of datasets to warm in SQLite, runs
'juicefs warmup' for them against the shared JuiceFS cache (verified with
'juicefs warmup --check'), and answers sbatch (the SPANK plugin), slurm-prolog and
swarmup over a unix socket and, with --listen, over TCP from other hosts
(every TCP request authenticated by MUNGE).

Usage: warmupd [flags]

Every flag is also a key of the configuration file, which is
%s: the flag --max-paths is the line MaxPaths=1000. Flags win over the file.

Flags:
%s
Signals: SIGTERM/SIGINT stop gracefully (running warm-ups are stopped and go back
to the queue); a warm-up interrupted by a crash is taken up again after restart.
`

type options struct {
	configPath  string
	socket      string
	socketMode  string
	database    string
	juicefs     string
	mounts      []string
	maxPaths    int
	minDepth    int
	logLevel    string
	sched       scheduler.Config
	warmThreads int
	cache       cachemgr.Config
	verify      cachemgr.VerifyConfig
	changelog   cachemgr.ChangelogConfig
	windows     string
	squeue      string
	squeueEvery time.Duration
	squeueGrace time.Duration
	progress    time.Duration
	scontrol    string
	allowEmpty  bool
	listen      string
	slurmdUser  string
	mungeSocket string
	metrics     string
	narrow      bool
	narrowRest  string
	slurm       shardjob.Config
	history     time.Duration
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// newFlags defines warmupd's flags (each also a config key) on o; its man
// page is generated from them (internal/mangen).
func newFlags(o *options) (fs *pflag.FlagSet, help, showVersion *bool) {
	fs = pflag.NewFlagSet("warmupd", pflag.ContinueOnError)
	fs.StringVar(&o.configPath, "config", "", "configuration file (Key=Value lines); see above for the default")
	fs.StringVar(&o.socket, "socket", api.DefaultSocket, "unix socket of the API")
	fs.StringVar(&o.socketMode, "socket-mode", "0666", "permissions of the socket (every local user may submit; callers are identified by SO_PEERCRED)")
	fs.StringVar(&o.listen, "listen", "", "also serve the API on TCP at HOST:PORT for other hosts; every TCP request must carry a MUNGE credential (empty: off, unix socket only)")
	fs.StringVar(&o.slurmdUser, "slurmd-user", "root", "user name or uid that may report job start and end besides root (the user slurmd runs prologs as)")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on HOST:PORT at /metrics, e.g. 127.0.0.1:9464 (empty: off; warmupd does not start if it cannot bind it)")
	fs.StringVar(&o.mungeSocket, "munge-socket", "", "munged socket used to decode TCP credentials (empty: /run/munge/munge.socket.2, MUNGE's default)")
	fs.StringVar(&o.database, "database", "/var/lib/accel-data/warmupd.db", "SQLite database file (the queue, datasets, jobs, history)")
	fs.StringVar(&o.juicefs, "juicefs", "/usr/local/bin/juicefs", "the juicefs binary")
	fs.StringSliceVar(&o.mounts, "mounts", []string{"/jfs"}, "JuiceFS mount points (comma-separated); paths outside them are refused")
	fs.BoolVar(&o.allowEmpty, "allow-empty-database", false, "start with an empty queue (logged as an error) when the database is missing or empty although its .marker file says one existed; default: refuse to start")
	fs.IntVar(&o.maxPaths, "max-paths", 1000, "most paths accepted in one request")
	fs.IntVar(&o.minDepth, "min-depth", server.DefaultMinDepth, "users other than root may warm only paths at least this many levels below a mount (1: /jfs is refused, /jfs/ds is fine; 0: no limit)")
	fs.Var((*bytesize.Value)(&o.cache.MaxRequestBytes), "max-request-bytes", "largest dataset a user other than root may have warmed, e.g. 500GiB (0: no limit); refused at submission when its size is known, else ends failed after its first size check")
	fs.IntVar(&o.sched.Workers, "workers", 2, "warm-ups run at the same time (0 pauses warming; requests are still queued)")
	fs.IntVar(&o.warmThreads, "warm-threads", 0, "juicefs warmup -p THREADS (0: juicefs's default, 50)")
	fs.Float64Var(&o.sched.TargetRatio, "target-ratio", 0.99, "cached fraction (verified by --check) that counts as warm")
	fs.DurationVar(&o.sched.Lease, "lease", 30*time.Second, "lease on a running warm-up; after a crash the task is taken up again once it expires")
	fs.IntVar(&o.sched.Retry.Attempts, "retries", retry.DefaultAttempts, "attempts before a warm-up is reported partial or failed")
	fs.DurationVar(&o.sched.Retry.Backoff, "retry-backoff", retry.DefaultBackoff, "delay before the first retry (doubles each attempt, at most 10m)")
	fs.DurationVar(&o.sched.CheckInterval, "check-interval", 5*time.Second, "progress period while a warm-up runs (reads the mount's .stats; no walk of the dataset)")
	fs.BoolVar(&o.narrow, "narrow-warmups", false, "warm first the subdirectories of a dataset that jobs read (accel-agent history), then the rest (off: the whole dataset at once)")
	fs.StringVar(&o.narrowRest, "narrow-rest", "now", "with --narrow-warmups, when the rest of a narrowed dataset warms: now (right after the subdirectories jobs read) or idle (the task ends partial, \"narrowed: the rest waits for room\", and the rest is left to the active warm-up: idle windows, room in the cache)")
	fs.Float64Var(&o.sched.ReleaseAt, "release-at", 0, "let a job waiting for a dataset start once the first share of the dataset's bytes (its files in directory order) is verified warm, e.g. 0.25; that part is warmed first, the rest keeps warming (0: off, the job waits for all of it; --narrow-warmups wins for datasets it narrows)")
	o.sched.ShardBytes = shard.DefaultBytes
	fs.StringVar(&o.slurm.Partition, "warmup-partition", "", "run large warm-ups' shards as a Slurm job array in this partition (empty, and no --warmup-qos: off; every shard on this node)")
	fs.StringVar(&o.slurm.QOS, "warmup-qos", "", "QOS of the warm-up job arrays (e.g. a preemptible scavenger QOS)")
	fs.IntVar(&o.slurm.MaxNodes, "warmup-max-nodes", 8, "most array tasks of one warm-up running at once; a warm-up sent to Slurm has at least this many shards")
	o.slurm.MinBytes = 100 << 30
	fs.Var((*bytesize.Value)(&o.slurm.MinBytes), "warmup-min-bytes", "smallest dataset whose warm-up is sent to Slurm, e.g. 100GiB; smaller ones warm on this node")
	fs.StringVar(&o.slurm.Spool, "warmup-spool", "", "directory on a file system every compute node sees, for the job arrays' shard lists (required with --warmup-partition/--warmup-qos)")
	fs.StringVar(&o.slurm.User, "warmup-user", "", "user the job arrays are submitted as (sbatch --uid; empty: warmupd's own user); it must be able to read the datasets, and may report the arrays' shards")
	fs.DurationVar(&o.slurm.PendingMax, "warmup-pending-max", 10*time.Minute, "longest a shard waits for a node; then its array task is cancelled and the shard warmed on this node (0: no bound)")
	fs.StringVar(&o.slurm.Runner, "warmup-runner", "", "the slurm-prolog binary on the compute nodes, run as `slurm-prolog warm-shard` (empty: slurm-prolog next to warmupd)")
	fs.Var((*bytesize.Value)(&o.sched.ShardBytes), "shard-bytes", "bound on the bytes of one shard of a warm-up: a file list warmed by one `juicefs warmup -f`, e.g. 16GiB")
	fs.DurationVar(&o.verify.MaxAge, "verify-max-age", 5*time.Second, "warmupd calls data warm (to a prolog or `swarmup warm`) only if its last 'juicefs warmup --check' finished at most this long ago; older data is checked again first")
	fs.DurationVar(&o.verify.Timeout, "verify-timeout", 30*time.Second, "bound of one such re-check; data whose re-check does not finish in time is queued again, never called warm")
	fs.IntVar(&o.verify.Parallel, "verify-parallel", 4, "re-checks run at the same time (one per path at most)")
	fs.DurationVar(&o.history, "history-retention", queue.DefaultHistoryRetention, "how long ended jobs (their datasets, for swarmup job and the job's status), finished warm-up attempts and the log of requests are kept in the database; older ones are deleted at start and then once an hour (0: kept for ever; else at least 1s). Datasets, their tasks and cache status are never deleted")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	o.cache.Planner = planner.DefaultConfig()
	o.cache.Planner.BindFlags(fs)
	fs.Var((*bytesize.Value)(&o.cache.CapacityBytes), "cache-capacity", "share of the shared cache directory accel-data may fill, e.g. 200TiB (0: unknown; nothing is evicted or held for space)")
	fs.StringVar(&o.cache.CacheDir, "cache-dir", "", "the shared JuiceFS cache directory, for free-space reports (default: from <mount>/.config)")
	fs.DurationVar(&o.cache.PlanInterval, "plan-interval", 100*time.Millisecond, "least time between two planner rounds while a warm-up worker is free (stretched to 5x the time a plan takes on a large store); while every worker is busy a round can start nothing and the gap is 10x this, or 20x the time a plan takes")
	fs.DurationVar(&o.cache.RefreshInterval, "refresh-interval", 10*time.Minute, "re-check period of a 1 GiB dataset's cache status (bigger ones less often; negative: never)")
	fs.DurationVar(&o.cache.EventRefreshInterval, "event-refresh-interval", cachemgr.DefaultEventRefreshInterval, "a warm dataset an event marked stale (an agent's miss report, the JuiceFS changelog) is checked again as soon as its last check is this old, before any periodic check: at most one check per dataset per interval (negative: events only mark, the periodic refresh checks)")
	fs.StringVar(&o.changelog.MetaURL, "changelog-meta", "", "the volume's metadata URL (e.g. redis://meta:6379/1; a password goes in META_PASSWORD): read its JuiceFS 1.4 metadata changelog ('juicefs changelog') to mark warm datasets stale when files are created, removed, renamed or written under them (empty: off; a volume without 'juicefs config --changelog' is reported and asked again every 10 intervals)")
	fs.DurationVar(&o.changelog.Interval, "changelog-interval", cachemgr.DefaultChangelogInterval, "how often the metadata changelog is read (with --changelog-meta); keep it well below the changelog's retention (2h by default)")
	fs.StringVar(&o.windows, "active-windows", "", "idle windows for active warm-up of popular datasets, e.g. 22:00-06:00,12:00-13:00 (local time; empty: off)")
	fs.StringVar(&o.cache.StatsMount, "stats-mount", "", "JuiceFS mount whose .stats gives object-storage traffic (default: the first of --mounts)")
	fs.StringVar(&o.squeue, "squeue", "/usr/bin/squeue", "squeue binary, run as 'squeue --json' to learn pending jobs' expected start (needs contrib's job_submit.lua; empty: off)")
	fs.DurationVar(&o.squeueEvery, "squeue-interval", 30*time.Second, "how often to run squeue (0: never)")
	fs.DurationVar(&o.squeueGrace, "squeue-grace", slurmwatch.DefaultGrace, "a job warmupd believes started (or submitted) for longer than this, which squeue no longer lists or lists as finished, is ended (its epilog could not reach warmupd)")
	fs.DurationVar(&o.progress, "squeue-progress", 30*time.Second, "while a job waits for its data (stage-in or prolog), write its warm-up progress into its comment (squeue's %k) at most this often, with --scontrol; needs the squeue watch (0: off)")
	fs.StringVar(&o.scontrol, "scontrol", "/usr/bin/scontrol", "scontrol binary, run as 'scontrol update JobId=N Comment=…' for --squeue-progress")
	fs.Float64Var(&o.cache.ObjectStoreBandwidth, "object-store-bandwidth", 0, "object-storage bandwidth in bytes/s; traffic/bandwidth is the load that gates active warm-up (0: load unknown, treated as idle)")
	help = fs.BoolP("help", "h", false, "show this help")
	showVersion = fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() { fmt.Fprint(os.Stderr, helpText(fs.FlagUsages())) }
	return fs, help, showVersion
}

// helpText is --help with the flags' usages: also the man page's text.
func helpText(flags string) string {
	return fmt.Sprintf(usage+exitcode.Help(exitStatuses), config.Rule, flags)
}

func run(args []string) int {
	var o options
	fs, help, showVersion := newFlags(&o)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "warmupd: %v (see warmupd --help)\n", err)
		return int(exitcode.Usage)
	}
	if *help {
		fs.Usage()
		return int(exitcode.OK)
	}
	if *showVersion {
		fmt.Println(version.Line("warmupd"))
		return int(exitcode.OK)
	}
	path, optional := config.Find(o.configPath, os.Getenv)
	if err := config.Load(fs, path, optional); err != nil {
		fmt.Fprintf(os.Stderr, "warmupd: %v\n", err)
		return int(exitcode.Usage)
	}
	switch o.narrowRest {
	case "now", "idle":
		o.sched.NarrowRestIdle = o.narrowRest == "idle"
	default:
		fmt.Fprintf(os.Stderr, "warmupd: bad --narrow-rest %q: want now (the rest warms at once) or idle (the rest waits for the active warm-up)\n", o.narrowRest)
		return int(exitcode.Usage)
	}
	if h := o.history; h < 0 || (h > 0 && h < minHistoryRetention) {
		fmt.Fprintf(os.Stderr, "warmupd: bad --history-retention %v: want 0 (keep the history for ever) or at least %v, e.g. 720h (30 days)\n", h, minHistoryRetention)
		return int(exitcode.Usage)
	}
	if r := o.sched.ReleaseAt; r < 0 || r >= 1 {
		fmt.Fprintf(os.Stderr, "warmupd: bad --release-at %v: want 0 (off) or a share of the dataset's bytes below 1, e.g. 0.25\n", r)
		return int(exitcode.Usage)
	}
	lvl, err := zerolog.ParseLevel(o.logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warmupd: bad --log-level %q: want debug, info, warn or error\n", o.logLevel)
		return int(exitcode.Usage)
	}
	base := zerolog.New(os.Stderr).Level(lvl).With().Timestamp().Logger()
	log := component(base, "warmupd")
	if err := keepMallocHeap(); err != nil {
		log.Debug().Err(err).Msg("malloc")
	}
	d, err := build(o, base)
	if err != nil {
		log.Error().Err(err).Msg("warmupd stopped")
		return int(exitcode.Failure)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := d.run(ctx); err != nil {
		log.Error().Err(err).Msg("warmupd stopped")
		return int(exitcode.Failure)
	}
	return int(exitcode.OK)
}

// lookupUID reads a user name or a numeric uid.
func lookupUID(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, fmt.Errorf("no user %q on this host: give a user name or a uid", s)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has uid %q, not a number", s, u.Uid)
	}
	return uint32(n), nil
}

func parseMode(s string) (os.FileMode, error) {
	var m uint32
	if _, err := fmt.Sscanf(s, "%o", &m); err != nil || m > 0o777 {
		return 0, fmt.Errorf("--socket-mode %q: want an octal mode such as 0666", s)
	}
	return os.FileMode(m), nil
}

// lockFile makes sure one warmupd owns a database at a time.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another warmupd uses %s (lock %s is held); stop it first", strings.TrimSuffix(path, ".lock"), path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
