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
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/cachemgr"
	"github.com/accel-data/accel-data/internal/retry"
	"github.com/accel-data/accel-data/internal/scheduler"
	"github.com/accel-data/accel-data/internal/server"
	"github.com/accel-data/accel-data/internal/slurmwatch"
	"github.com/accel-data/accel-data/internal/version"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
)

const usage = `warmupd — accel-data's warm-up daemon.

warmupd keeps a deduplicated priority queue of datasets to warm in SQLite, runs
'juicefs warmup' for them against the shared JuiceFS cache (verified with
'juicefs warmup --check'), and answers sbatch (the SPANK plugin), slurm-prolog and
swarmup over a unix socket and, with --listen, over TCP from other hosts
(every TCP request authenticated by MUNGE).

Usage: warmupd [flags]

Every flag is also a key of the configuration file (default %s,
or $%s): the flag --max-paths is the line MaxPaths=1000. Flags win over the file.

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
	windows     string
	squeue      string
	squeueEvery time.Duration
	squeueGrace time.Duration
	allowEmpty  bool
	listen      string
	slurmdUser  string
	mungeSocket string
	narrow      bool
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var o options
	fs := pflag.NewFlagSet("warmupd", pflag.ContinueOnError)
	defConf := config.DefaultPath
	if e := os.Getenv(config.PathEnv); e != "" {
		defConf = e
	}
	fs.StringVar(&o.configPath, "config", defConf, "configuration file (Key=Value lines)")
	fs.StringVar(&o.socket, "socket", api.DefaultSocket, "unix socket of the API")
	fs.StringVar(&o.socketMode, "socket-mode", "0666", "permissions of the socket (every local user may submit; callers are identified by SO_PEERCRED)")
	fs.StringVar(&o.listen, "listen", "", "also serve the API on TCP at HOST:PORT for other hosts; every TCP request must carry a MUNGE credential (empty: off, unix socket only)")
	fs.StringVar(&o.slurmdUser, "slurmd-user", "root", "user name or uid that may report job start and end besides root (the user slurmd runs prologs as)")
	fs.StringVar(&o.mungeSocket, "munge-socket", "", "munged socket used to decode TCP credentials (empty: libmunge's default)")
	fs.StringVar(&o.database, "database", "/var/lib/accel-data/warmupd.db", "SQLite database file (the queue, datasets, jobs, history)")
	fs.StringVar(&o.juicefs, "juicefs", "/usr/local/bin/juicefs", "the juicefs binary")
	fs.StringSliceVar(&o.mounts, "mounts", []string{"/jfs"}, "JuiceFS mount points (comma-separated); paths outside them are refused")
	fs.BoolVar(&o.allowEmpty, "allow-empty-database", false, "start with an empty queue (logged as an error) when the database is missing or empty although its .marker file says one existed; default: refuse to start")
	fs.IntVar(&o.maxPaths, "max-paths", 1000, "most paths accepted in one request")
	fs.IntVar(&o.minDepth, "min-depth", server.DefaultMinDepth, "users other than root may warm only paths at least this many levels below a mount (1: /jfs is refused, /jfs/ds is fine; 0: no limit)")
	fs.Var((*planner.ByteSize)(&o.cache.MaxRequestBytes), "max-request-bytes", "largest dataset a user other than root may have warmed, e.g. 500GiB (0: no limit); refused at submission when its size is known, else ends failed after its first size check")
	fs.IntVar(&o.sched.Workers, "workers", 2, "warm-ups run at the same time (0 pauses warming; requests are still queued)")
	fs.IntVar(&o.warmThreads, "warm-threads", 0, "juicefs warmup -p THREADS (0: juicefs's default, 50)")
	fs.Float64Var(&o.sched.TargetRatio, "target-ratio", 0.99, "cached fraction (verified by --check) that counts as warm")
	fs.DurationVar(&o.sched.Lease, "lease", 30*time.Second, "lease on a running warm-up; after a crash the task is taken up again once it expires")
	fs.IntVar(&o.sched.Retry.Attempts, "retries", retry.DefaultAttempts, "attempts before a warm-up is reported partial or failed")
	fs.DurationVar(&o.sched.Retry.Backoff, "retry-backoff", retry.DefaultBackoff, "delay before the first retry (doubles each attempt, at most 10m)")
	fs.DurationVar(&o.sched.CheckInterval, "check-interval", 5*time.Second, "progress check period while a warm-up runs")
	fs.BoolVar(&o.narrow, "narrow-warmups", false, "warm first the subdirectories of a dataset that jobs read (accel-agent history), then the rest (off: the whole dataset at once)")
	fs.DurationVar(&o.verify.MaxAge, "verify-max-age", 5*time.Second, "warmupd calls data warm (to a prolog or `swarmup warm`) only if its last 'juicefs warmup --check' finished at most this long ago; older data is checked again first")
	fs.DurationVar(&o.verify.Timeout, "verify-timeout", 30*time.Second, "bound of one such re-check; data whose re-check does not finish in time is queued again, never called warm")
	fs.IntVar(&o.verify.Parallel, "verify-parallel", 4, "re-checks run at the same time (one per path at most)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	o.cache.Planner = planner.DefaultConfig()
	o.cache.Planner.BindFlags(fs)
	fs.Var((*planner.ByteSize)(&o.cache.CapacityBytes), "cache-capacity", "share of the shared cache directory accel-data may fill, e.g. 200TiB (0: unknown; nothing is evicted or held for space)")
	fs.StringVar(&o.cache.CacheDir, "cache-dir", "", "the shared JuiceFS cache directory, for free-space reports (default: from <mount>/.config)")
	fs.DurationVar(&o.cache.PlanInterval, "plan-interval", 100*time.Millisecond, "least time between two planner rounds (stretched to 5x the time a plan takes on a large store)")
	fs.DurationVar(&o.cache.RefreshInterval, "refresh-interval", 10*time.Minute, "re-check period of a 1 GiB dataset's cache status (bigger ones less often; negative: never)")
	fs.StringVar(&o.windows, "active-windows", "", "idle windows for active warm-up of popular datasets, e.g. 22:00-06:00,12:00-13:00 (local time; empty: off)")
	fs.StringVar(&o.cache.StatsMount, "stats-mount", "", "JuiceFS mount whose .stats gives object-storage traffic (default: the first of --mounts)")
	fs.StringVar(&o.squeue, "squeue", "/usr/bin/squeue", "squeue binary, run as 'squeue --json' to learn pending jobs' expected start (needs contrib's job_submit.lua; empty: off)")
	fs.DurationVar(&o.squeueEvery, "squeue-interval", 30*time.Second, "how often to run squeue (0: never)")
	fs.DurationVar(&o.squeueGrace, "squeue-grace", slurmwatch.DefaultGrace, "a job warmupd believes started (or submitted) for longer than this, which squeue no longer lists or lists as finished, is ended (its epilog could not reach warmupd)")
	fs.Float64Var(&o.cache.ObjectStoreBandwidth, "object-store-bandwidth", 0, "object-storage bandwidth in bytes/s; traffic/bandwidth is the load that gates active warm-up (0: load unknown, treated as idle)")
	help := fs.BoolP("help", "h", false, "show this help")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, usage, config.DefaultPath, config.PathEnv, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "warmupd: %v (see warmupd --help)\n", err)
		return 2
	}
	if *help {
		fs.Usage()
		return 0
	}
	if *showVersion {
		fmt.Println(version.Line("warmupd"))
		return 0
	}
	explicit := fs.Changed("config") || os.Getenv(config.PathEnv) != ""
	if err := config.Load(fs, o.configPath, !explicit, "config", "help", "version"); err != nil {
		fmt.Fprintf(os.Stderr, "warmupd: %v\n", err)
		return 2
	}
	lvl, err := zerolog.ParseLevel(o.logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warmupd: bad --log-level %q: want debug, info, warn or error\n", o.logLevel)
		return 2
	}
	log := zerolog.New(os.Stderr).Level(lvl).With().Timestamp().Str("component", "warmupd").Logger()
	if err := serve(o, log); err != nil {
		log.Error().Err(err).Msg("warmupd stopped")
		return 1
	}
	return 0
}

func serve(o options, log zerolog.Logger) error {
	mode, err := parseMode(o.socketMode)
	if err != nil {
		return err
	}
	if o.sched.TargetRatio <= 0 || o.sched.TargetRatio > 1 {
		return fmt.Errorf("--target-ratio %v: want a fraction in (0, 1]", o.sched.TargetRatio)
	}
	if o.sched.TargetRatio > jfs.MaxRoundedRatio {
		// juicefs warmup --check prints "100.0%" from 99.95 % up: more
		// cannot be verified.
		log.Warn().Float64("target_ratio", o.sched.TargetRatio).Float64("using", jfs.MaxRoundedRatio).
			Msg("--target-ratio above what juicefs warmup --check can verify (it rounds 99.95 % up to 100.0 %)")
		o.sched.TargetRatio = jfs.MaxRoundedRatio
	}
	if o.verify.MaxAge <= 0 || o.verify.Timeout <= 0 || o.verify.Parallel <= 0 {
		return fmt.Errorf("--verify-max-age %v, --verify-timeout %v, --verify-parallel %d: each must be positive (VerifyMaxAge=5s, VerifyTimeout=30s, VerifyParallel=4 are the defaults)",
			o.verify.MaxAge, o.verify.Timeout, o.verify.Parallel)
	}
	o.verify.TargetRatio = o.sched.TargetRatio
	ws, err := planner.ParseWindows(o.windows)
	if err != nil {
		return fmt.Errorf("--active-windows: %w", err)
	}
	o.cache.Planner.ActiveWindows = ws
	o.cache.Planner.WarmRatio = o.sched.TargetRatio
	if err := o.cache.Planner.Validate(); err != nil {
		return err
	}
	if o.minDepth < 0 || o.cache.MaxRequestBytes < 0 {
		return fmt.Errorf("--min-depth %d, --max-request-bytes %d: want 0 (no limit) or more", o.minDepth, o.cache.MaxRequestBytes)
	}
	if st, err := os.Stat(o.juicefs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("juicefs binary %q is not an executable file; set --juicefs (JuiceFS= in the config)", o.juicefs)
	}
	var mounts []string
	for _, m := range o.mounts {
		cm, err := server.Canonical(strings.TrimSpace(m))
		if err != nil {
			return fmt.Errorf("--mounts: %w", err)
		}
		if _, err := jfs.FindMount(cm); err != nil {
			log.Warn().Err(err).Str("mount", cm).Msg("mount point does not look like a JuiceFS mount (yet); requests under it will fail until it is mounted")
		}
		mounts = append(mounts, cm)
	}
	if len(mounts) == 0 {
		return fmt.Errorf("--mounts is empty: name the JuiceFS mount point(s), e.g. --mounts /jfs")
	}
	if o.cache.StatsMount == "" {
		o.cache.StatsMount = mounts[0]
	}
	if o.cache.CacheDir == "" {
		// The first block directory (<cache-dir>/<UUID>): on the file system
		// whose free space matters.
		if mc, err := jfs.ReadMountConfig(mounts[0]); err == nil {
			if dirs := mc.BlockDirs(); len(dirs) > 0 {
				o.cache.CacheDir = dirs[0]
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(o.database), 0o755); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	unlock, err := lockFile(o.database + ".lock")
	if err != nil {
		return err
	}
	defer unlock()

	store, err := queue.OpenWith(o.database, log.With().Str("component", "queue").Logger(), queue.Options{AllowEmpty: o.allowEmpty})
	if err != nil {
		return err
	}
	defer store.Close()

	driver := &jfs.Driver{Binary: o.juicefs, Threads: o.warmThreads, Log: log.With().Str("component", "jfs").Logger()}
	mgr := cachemgr.New(o.cache, store, driver, log.With().Str("component", "cache").Logger(), time.Now)
	o.sched.Plan = mgr.Plan
	if o.narrow {
		o.sched.Narrow = narrower(store, log)
	}
	sched := scheduler.New(o.sched, store, driver, log.With().Str("component", "scheduler").Logger(), time.Now)
	verifier := cachemgr.NewVerifier(o.verify, store, driver, log.With().Str("component", "verify").Logger(), time.Now)
	defer verifier.Close()
	verifier.Kick = sched.Kick
	slurmdUID, err := lookupUID(o.slurmdUser)
	if err != nil {
		return fmt.Errorf("--slurmd-user: %w", err)
	}
	srv := server.New(server.Config{
		SlurmdUID: slurmdUID,
		Auth:      auth.NewVerifier(o.mungeSocket, time.Now),
		Store:     store,
		Paths:     server.PathPolicy{Mounts: mounts, MaxPaths: o.maxPaths, MinDepth: o.minDepth, MaxRequestBytes: o.cache.MaxRequestBytes},
		Log:       log.With().Str("component", "api").Logger(),
		Kick:      sched.Kick,
		Stop:      sched.Stop,
		Extra:     mgr.Routes(),
		Rate:      sched.Rate,
		Verify:    verifier,
		Health: func(context.Context) (server.Health, error) {
			return server.Health{Workers: sched.Workers(), JuiceFS: o.juicefs, Database: o.database}, nil
		},
	})
	l, err := server.Listen(o.socket, mode)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(l) }()
	if o.listen != "" {
		tl, err := server.ListenTCP(o.listen)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return err
		}
		go func() { errc <- srv.Serve(tl) }()
		if err := auth.Probe(o.mungeSocket); err != nil {
			log.Warn().Err(err).Msg("TCP requests will be refused until munged answers")
		}
		log.Info().Str("listen", tl.Addr().String()).Str("munge_socket", o.mungeSocket).Uint32("slurmd_uid", slurmdUID).Msg("TCP door open (MUNGE)")
	}
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(ctx) }()
	go mgr.Refresh(ctx)
	go verifier.PreVerify(ctx)
	if o.squeue != "" && o.squeueEvery > 0 {
		if _, err := os.Stat(o.squeue); err != nil {
			log.Warn().Str("squeue", o.squeue).Msg("squeue not found; pending jobs' expected start times stay unknown and jobs whose epilog missed warmupd are never ended (set --squeue, or --squeue-interval 0 to silence this)")
		} else {
			w := &slurmwatch.Watcher{Squeue: o.squeue, Interval: o.squeueEvery, Grace: o.squeueGrace, Store: store,
				Log: log.With().Str("component", "squeue").Logger(), Now: time.Now}
			go w.Run(ctx)
		}
	}
	log.Info().Str("socket", o.socket).Str("database", o.database).Str("juicefs", o.juicefs).
		Strs("mounts", mounts).Int("workers", sched.Workers()).Str("owner", sched.Owner()).Stringer("cache", mgr).Str("version", version.String()).Msg("warmupd ready")

	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down: stopping running warm-ups and handing them back to the queue")
	case err := <-errc:
		stop()
		<-schedDone
		return fmt.Errorf("API server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-schedDone; err != nil {
		return err
	}
	log.Info().Msg("stopped cleanly")
	return nil
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
