package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/cachemgr"
	"github.com/accel-data/accel-data/internal/jobprogress"
	"github.com/accel-data/accel-data/internal/manifest"
	"github.com/accel-data/accel-data/internal/notify"
	"github.com/accel-data/accel-data/internal/scheduler"
	"github.com/accel-data/accel-data/internal/server"
	"github.com/accel-data/accel-data/internal/slurmwatch"
	"github.com/accel-data/accel-data/internal/version"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
)

// daemon is a built warmupd: everything constructed and the database, its
// lock and the listeners open, nothing running yet. run starts it, waits,
// and stops it.
type daemon struct {
	o         options
	log       zerolog.Logger // component warmupd
	mounts    []string
	slurmdUID uint32
	runnerUID uint32 // WarmupUser: may report warm-up shards

	unlock       func()
	store        *queue.Store
	mgr          *cachemgr.Manager
	sched        *scheduler.Scheduler
	verifier     *cachemgr.Verifier
	srv          *server.Server
	listeners    []net.Listener
	watcher      *slurmwatch.Watcher // nil: squeue watch off
	changelog    *cachemgr.Changelog // nil: ChangelogMeta empty
	closeMetrics func()              // stops serving /metrics (Metrics=)
}

// component is base for one part of the daemon: the one place a log line
// gets its component key (once).
func component(base zerolog.Logger, name string) zerolog.Logger {
	return base.With().Str("component", name).Logger()
}

// build checks the options and constructs the daemon; on error nothing is
// left open.
func build(o options, base zerolog.Logger) (_ *daemon, err error) {
	d := &daemon{o: o, log: component(base, "warmupd")}
	if err := d.checkOptions(); err != nil {
		return nil, err
	}
	o = d.o
	mode, err := parseMode(o.socketMode)
	if err != nil {
		return nil, err
	}
	if d.slurmdUID, err = lookupUID(o.slurmdUser); err != nil {
		return nil, fmt.Errorf("--slurmd-user: %w", err)
	}
	if o.slurm.User != "" {
		if d.runnerUID, err = lookupUID(o.slurm.User); err != nil {
			return nil, fmt.Errorf("--warmup-user: %w", err)
		}
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if err := os.MkdirAll(filepath.Dir(o.database), 0o755); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	if d.unlock, err = lockFile(o.database + ".lock"); err != nil {
		return nil, err
	}
	if d.store, err = queue.OpenWith(o.database, component(base, "queue"), queue.Options{AllowEmpty: o.allowEmpty}); err != nil {
		return nil, err
	}
	mtr, closeMetrics, err := startMetrics(o.metrics, d.store, d.log)
	if err != nil {
		return nil, err
	}
	d.closeMetrics = closeMetrics
	o.sched.Metrics, o.cache.Metrics, o.verify.Metrics = mtr, mtr, mtr

	driver := &jfs.Driver{Binary: o.juicefs, Threads: o.warmThreads, Log: component(base, "jfs")}
	// One sampler checks warm data for the refresh and the re-verifications,
	// from the dataset manifests next to the database.
	sampler := cachemgr.NewSampler(manifest.Dir(o.database), o.sched.TargetRatio, driver, component(base, "sample"), 0)
	o.cache.Sampler, o.verify.Sampler = sampler, sampler
	// One hub wakes the prologs' long polls when a dataset changes.
	changes := &notify.Hub{}
	o.sched.Changed, o.cache.Changed = changes.Notify, changes.Notify
	d.mgr = cachemgr.New(o.cache, d.store, driver, component(base, "cache"), time.Now)
	o.sched.Plan = d.mgr.Plan
	if o.narrow {
		o.sched.Narrow = narrower(d.store, component(base, "narrow"))
	}
	o.sched.Mounts = d.mounts
	if o.slurm.Partition != "" || o.slurm.QOS != "" {
		o.slurm.JuiceFS, o.slurm.Threads = o.juicefs, o.warmThreads
		if o.squeue != "" {
			o.slurm.Sbatch = filepath.Join(filepath.Dir(o.squeue), "sbatch")
		}
		o.sched.Slurm = &o.slurm
	}
	d.sched = scheduler.New(o.sched, d.store, driver, component(base, "scheduler"), time.Now)
	d.verifier = cachemgr.NewVerifier(o.verify, d.store, driver, component(base, "verify"), time.Now)
	stale := func(paths ...string) { d.mgr.Stale(paths...); changes.Notify(paths...) }
	if o.changelog.MetaURL != "" {
		// The changelog names inodes; `juicefs info --inode` run in the
		// (first) mount turns them into paths under it.
		o.changelog.Mount = d.mounts[0]
		inMount := &jfs.Driver{Binary: o.juicefs, Log: component(base, "jfs"), Dir: d.mounts[0]}
		d.changelog = cachemgr.NewChangelog(o.changelog, d.store, inMount, component(base, "changelog"), time.Now)
		d.changelog.Stale = stale
	}
	d.verifier.Kick = d.sched.Kick
	d.verifier.Changed = changes.Notify
	d.srv = server.New(server.Config{
		SlurmdUID:   d.slurmdUID,
		RunnerUID:   d.runnerUID,
		Auth:        auth.NewVerifier(o.mungeSocket, time.Now),
		Store:       d.store,
		Paths:       server.PathPolicy{Mounts: d.mounts, MaxPaths: o.maxPaths, MinDepth: o.minDepth, MaxRequestBytes: o.cache.MaxRequestBytes},
		Log:         component(base, "api"),
		Kick:        d.sched.Kick,
		Stale:       stale,
		Changes:     changes,
		Waits:       d.waits,
		Stop:        d.sched.Stop,
		Extra:       extraRoutes(d.mgr.Routes(), d.sched.Routes()),
		ExtraSlurmd: d.sched.SlurmdRoutes(),
		Rate:        d.sched.Rate,
		Verify:      d.verifier,
		Metrics:     mtr,
		Health: func(context.Context) (server.Health, error) {
			return server.Health{Workers: d.sched.Workers(), JuiceFS: o.juicefs, Database: o.database}, nil
		},
	})
	if o.squeue != "" && o.squeueEvery > 0 {
		if _, err := os.Stat(o.squeue); err != nil {
			d.log.Warn().Str("squeue", o.squeue).Msg("squeue not found; pending jobs' expected start times stay unknown and jobs whose epilog missed warmupd are never ended (set --squeue, or --squeue-interval 0 to silence this)")
		} else {
			d.watcher = &slurmwatch.Watcher{Squeue: o.squeue, Interval: o.squeueEvery, Grace: o.squeueGrace, Store: d.store,
				Log: component(base, "squeue"), Now: time.Now}
			d.watcher.Progress = d.progressWriter(base)
		}
	}
	l, err := server.Listen(o.socket, mode)
	if err != nil {
		return nil, err
	}
	d.listeners = append(d.listeners, l)
	if o.listen != "" {
		tl, err := server.ListenTCP(o.listen)
		if err != nil {
			return nil, err
		}
		d.listeners = append(d.listeners, tl)
		if err := auth.Probe(o.mungeSocket); err != nil {
			d.log.Warn().Err(err).Msg("TCP requests will be refused until munged answers")
		}
		d.log.Info().Str("listen", tl.Addr().String()).Str("munge_socket", o.mungeSocket).Uint32("slurmd_uid", d.slurmdUID).Msg("TCP door open (MUNGE)")
	}
	return d, nil
}

// extraRoutes merges the route tables of the components.
func extraRoutes(tables ...map[string]http.HandlerFunc) map[string]http.HandlerFunc {
	out := map[string]http.HandlerFunc{}
	for _, t := range tables {
		maps.Copy(out, t)
	}
	return out
}

// checkOptions checks the options (looking at the juicefs binary and the
// mounts, opening nothing) and fills in the derived ones (d.o, d.mounts).
func (d *daemon) checkOptions() error {
	o := &d.o
	if o.sched.TargetRatio <= 0 || o.sched.TargetRatio > 1 {
		return fmt.Errorf("--target-ratio %v: want a fraction in (0, 1]", o.sched.TargetRatio)
	}
	if o.sched.TargetRatio > jfs.MaxRoundedRatio {
		// juicefs warmup --check prints "100.0%" from 99.95 % up: more
		// cannot be verified.
		d.log.Warn().Float64("target_ratio", o.sched.TargetRatio).Float64("using", jfs.MaxRoundedRatio).
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
	for _, m := range o.mounts {
		cm, err := server.Canonical(strings.TrimSpace(m))
		if err != nil {
			return fmt.Errorf("--mounts: %w", err)
		}
		if _, err := jfs.FindMount(cm); err != nil {
			d.log.Warn().Err(err).Str("mount", cm).Msg("mount point does not look like a JuiceFS mount (yet); requests under it will fail until it is mounted")
		}
		d.mounts = append(d.mounts, cm)
	}
	if len(d.mounts) == 0 {
		return fmt.Errorf("--mounts is empty: name the JuiceFS mount point(s), e.g. --mounts /jfs")
	}
	if o.cache.StatsMount == "" {
		o.cache.StatsMount = d.mounts[0]
	}
	if o.cache.CacheDir == "" {
		// The first block directory (<cache-dir>/<UUID>): on the file system
		// whose free space matters.
		if mc, err := jfs.ReadMountConfig(d.mounts[0]); err == nil {
			if dirs := mc.BlockDirs(); len(dirs) > 0 {
				o.cache.CacheDir = dirs[0]
			}
		}
	}
	if o.slurm.Partition != "" || o.slurm.QOS != "" {
		if o.slurm.Spool == "" {
			return fmt.Errorf("--warmup-partition/--warmup-qos need --warmup-spool: a directory every compute node sees, for the shard lists")
		}
		if o.slurm.MaxNodes < 2 {
			return fmt.Errorf("--warmup-max-nodes %d: want at least 2 (one node is this one)", o.slurm.MaxNodes)
		}
		if o.slurm.Runner == "" {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("--warmup-runner: where is slurm-prolog? %w", err)
			}
			o.slurm.Runner = filepath.Join(filepath.Dir(exe), "slurm-prolog")
		}
	}
	return nil
}

// run starts the API server and the daemon's goroutines, waits until ctx
// ends (SIGTERM) or one of them fails, and stops: the API stops taking
// requests and the goroutines are told to end, then every one of them is
// waited for, the evictions and re-verifications they started too, and only
// then is the store closed. Each goroutine logs (debug) when it stopped;
// "store closed" comes after all of them.
func (d *daemon) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	spawn := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				cancel()
			}
			d.log.Debug().Str("goroutine", name).Msg("goroutine stopped")
		}()
	}
	for _, l := range d.listeners {
		spawn("api "+l.Addr().Network(), func(context.Context) error { return d.srv.Serve(l) })
	}
	spawn("scheduler", d.sched.Run)
	spawn("refresh", func(ctx context.Context) error { d.mgr.Refresh(ctx); return nil })
	spawn("preverify", func(ctx context.Context) error { d.verifier.PreVerify(ctx); return nil })
	if d.watcher != nil {
		spawn("squeue", func(ctx context.Context) error { d.watcher.Run(ctx); return nil })
	}
	if d.changelog != nil {
		spawn("changelog", func(ctx context.Context) error { d.changelog.Run(ctx); return nil })
	}
	if d.o.history > 0 {
		spawn("history", func(ctx context.Context) error { d.pruneHistory(ctx); return nil })
	}
	d.log.Info().Str("socket", d.o.socket).Str("database", d.o.database).Str("juicefs", d.o.juicefs).
		Strs("mounts", d.mounts).Int("workers", d.sched.Workers()).Str("owner", d.sched.Owner()).Stringer("cache", d.mgr).Str("version", version.String()).Msg("warmupd ready")

	<-ctx.Done()
	mu.Lock()
	failed := len(errs) > 0
	mu.Unlock()
	if !failed {
		d.log.Info().Msg("shutting down: stopping running warm-ups and handing them back to the queue")
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := d.srv.Shutdown(sctx); err != nil {
		d.log.Warn().Err(err).Msg("API requests in flight were cut off")
	}
	wg.Wait()
	err := errors.Join(errs...)
	if cerr := d.close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the database: %w", cerr))
	}
	if err == nil {
		d.log.Info().Msg("stopped cleanly")
	}
	return err
}

// close waits for the work the goroutines started (evictions,
// re-verifications), then closes the store and drops the database lock. It
// also undoes a build that failed half way.
func (d *daemon) close() error {
	for _, l := range d.listeners {
		_ = l.Close() // already closed after Shutdown; needed after a failed build
	}
	if d.mgr != nil {
		d.mgr.Wait()
	}
	if d.verifier != nil {
		d.verifier.Close()
	}
	if d.closeMetrics != nil {
		d.closeMetrics()
	}
	var err error
	if d.store != nil {
		err = d.store.Close()
		d.log.Debug().Err(err).Msg("store closed")
	}
	if d.unlock != nil {
		d.unlock()
	}
	return err
}

// waits is the last squeue poll's jobs waiting for their data (none while
// squeue is not watched).
func (d *daemon) waits() (map[uint64]string, time.Time) {
	if d.watcher == nil {
		return nil, time.Time{}
	}
	w := d.watcher.Waits()
	return w.Jobs, w.At
}

// progressWriter writes waiting jobs' progress into their comments
// (SqueueProgress); nil when it is off or scontrol is missing.
func (d *daemon) progressWriter(base zerolog.Logger) *jobprogress.Writer {
	o := d.o
	if o.progress <= 0 || o.scontrol == "" {
		return nil
	}
	if _, err := os.Stat(o.scontrol); err != nil {
		d.log.Warn().Str("scontrol", o.scontrol).Msg("scontrol not found; waiting jobs' warm-up progress is not shown in squeue (set --scontrol, or --squeue-progress 0 to silence this)")
		return nil
	}
	return &jobprogress.Writer{Scontrol: o.scontrol, Every: o.progress, Log: component(base, "progress"), Now: time.Now,
		Status: func(ctx context.Context, id uint64) (*api.JobStatus, error) {
			st, err := d.store.JobStatus(ctx, id)
			if err != nil {
				return nil, err
			}
			st.FillRates(d.sched.Rate)
			return st, nil
		}}
}
