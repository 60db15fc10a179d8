package scheduler

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/shard"
)

// plan walks the dataset once (the one metadata walk of a warm-up beyond
// juicefs's own) and cuts it into shards. When the walk fails, or finds no
// file, the plan is the dataset path itself as one shard: juicefs then
// walks it and reports what is wrong with it.
func (s *Scheduler) plan(ctx context.Context, t *queue.Task, log zerolog.Logger) *shard.Plan {
	s.cfg.Metrics.Walked(metrics.WalkList)
	files, err := shard.Walk(ctx, t.Path, 0)
	p := &shard.Plan{Root: t.Path, Files: len(files), List: files}
	for _, f := range files {
		p.Bytes += f.Size
	}
	minShards := 1
	if s.cfg.Slurm.Enabled(p.Bytes) {
		minShards = s.cfg.Slurm.MaxNodes // one shard a node at least
	}
	p.Shards = shard.Split(files, s.cfg.ShardBytes, minShards)
	if err != nil || len(p.Shards) == 0 {
		if err != nil && ctx.Err() == nil {
			log.Info().Err(err).Msg("could not list the dataset; juicefs warms it as a whole")
		}
		return &shard.Plan{Root: t.Path, Shards: []shard.Shard{{Files: []string{t.Path}}}}
	}
	return p
}

// warmShards runs `juicefs warmup -f SHARD` for each shard in turn while a
// meter records progress: the bytes of the shards done plus what the
// mount's .stats counters say the running shard fetched so far.
// It returns what the mount fetched meanwhile by those counters (measured
// false: the mount has none).
func (s *Scheduler) warmShards(ctx context.Context, t *queue.Task, p *shard.Plan, log zerolog.Logger) (fetched int64, measured bool, err error) {
	if s.cfg.Slurm.Enabled(p.Bytes) && len(p.Shards) > 1 {
		return 0, false, s.warmOnSlurm(ctx, t, p, log)
	}
	m := &meter{mount: mountOf(s.cfg.Mounts, t.Path), plan: p}
	m.start()
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.progressLoop(pctx, t, m, log) }()
	defer func() { stop(); wg.Wait(); fetched, measured = m.fetched() }()
	for i, sh := range p.Shards {
		_, err = s.driver.Warmup(ctx, sh.Files)
		var pe *jfs.PathError
		if errors.As(err, &pe) && sh.Files[0] != t.Path {
			// A listed file went away since the walk: warm what the
			// dataset holds now, walked by juicefs itself.
			log.Info().Err(err).Msg("dataset changed since it was listed; juicefs warms the rest as a whole")
			_, err = s.driver.Warmup(ctx, []string{t.Path})
			m.shardDone(len(p.Shards) - i)
			return 0, false, err
		}
		if err != nil {
			return 0, false, err
		}
		m.shardDone(1)
		s.progress(t, m.progress(), log)
	}
	return 0, false, nil
}

// fetched is what the mount fetched during the warm-up by its .stats
// counters (false: the mount has none).
func (m *meter) fetched() (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.statsOK || m.mount == "" {
		return 0, false
	}
	st, err := jfs.ReadStats(m.mount)
	if err != nil {
		return 0, false
	}
	n, ok := jfs.FetchedBytes(st)
	if !ok {
		return 0, false
	}
	return max(0, n-m.base), true
}

// meter measures a sharded warm-up without walking the dataset.
type meter struct {
	mount string
	plan  *shard.Plan

	mu      sync.Mutex
	base    int64 // the mount's fetched counter when the warm-up began
	statsOK bool
	done    int   // shards done
	doneB   int64 // their bytes
	doneAt  int64 // the fetched counter (since base) when the last shard ended
}

func (m *meter) start() {
	if m.mount == "" {
		return
	}
	if st, err := jfs.ReadStats(m.mount); err == nil {
		m.base, m.statsOK = jfs.FetchedBytes(st)
	}
}

func (m *meter) shardDone(n int) {
	f, _ := m.fetched()
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		if m.done < len(m.plan.Shards) {
			m.doneB += m.plan.Shards[m.done].Bytes
			m.done++
		}
	}
	m.doneAt = f
}

// progress is the warm-up's progress as a check-like record: the shards
// done count whole; the running one counts what the mount fetched since
// the last shard ended, up to its size.
func (m *meter) progress() queue.Check {
	f, _ := m.fetched()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.doneB
	if m.done < len(m.plan.Shards) {
		b += min(max(0, f-m.doneAt), m.plan.Shards[m.done].Bytes)
	}
	c := queue.Check{Files: int64(m.plan.Files), Bytes: m.plan.Bytes, CachedBytes: b, Method: api.RatioInferred} // from shards done and .stats, not a check
	if c.Bytes > 0 {
		c.Ratio = float64(b) / float64(c.Bytes)
	}
	return c
}

// mountOf is the mount (of mounts) that holds path; "" when none does.
func mountOf(mounts []string, path string) string {
	best := ""
	for _, m := range mounts {
		m = filepath.Clean(m)
		if (path == m || strings.HasPrefix(path, m+"/") || m == "/") && len(m) > len(best) {
			best = m
		}
	}
	return best
}

// progressLoop records the meter's progress every CheckInterval until ctx
// ends. It reads a small counters file: no walk of the dataset.
func (s *Scheduler) progressLoop(ctx context.Context, t *queue.Task, m *meter, log zerolog.Logger) {
	tk := time.NewTicker(s.cfg.CheckInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		s.progress(t, m.progress(), log)
	}
}
