package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
)

// decay is the factor that takes a value decayed at from to now (UseHalfLife).
func decay(from, now int64) float64 {
	if now <= from {
		return 1
	}
	return math.Exp2(-float64(now-from) / float64(UseHalfLife))
}

// AccessRetention is how long a job's per-node I/O report is kept after
// its last update (the decayed per-dataset history is kept).
const AccessRetention = 30 * 24 * time.Hour

// pruneAccess drops the per-job reports not updated for AccessRetention.
func pruneAccess(ctx context.Context, tx *wtx, now int64) error {
	cut := now - int64(AccessRetention)
	if _, err := tx.ExecContext(ctx, `DELETE FROM job_path_io WHERE (job_id, node) IN
			(SELECT job_id, node FROM job_node_io WHERE updated_at < ?)`, cut); err != nil {
		return fmt.Errorf("queue: prune job I/O: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM job_node_io WHERE updated_at < ?`, cut); err != nil {
		return fmt.Errorf("queue: prune job I/O: %w", err)
	}
	return nil
}

// ErrNoNode is returned for an access report without a node name.
var ErrNoNode = errors.New("queue: access report without a node")

// AccessRecorded is what RecordAccess did with a report.
type AccessRecorded struct {
	Jobs int // job reports recorded
	// Stale are the warm datasets the report's misses marked stale
	// (MissSuspect): the cache manager should refresh them.
	Stale []string
}

// RecordAccess adds an agent's report (deltas) to the access history, and
// marks stale the warm datasets its jobs missed (MissSuspect).
func (s *Store) RecordAccess(ctx context.Context, r api.AccessReport, now time.Time) (AccessRecorded, error) {
	if r.Node == "" {
		return AccessRecorded{}, ErrNoNode
	}
	t := ns(now)
	var out AccessRecorded
	err := s.inTx(ctx, func(tx *wtx) error {
		out = AccessRecorded{Jobs: len(r.Jobs)}
		if err := recordMount(ctx, tx, r, t); err != nil {
			return err
		}
		if err := pruneAccess(ctx, tx, t); err != nil {
			return err
		}
		for _, j := range r.Jobs {
			if j.JobID == 0 {
				continue
			}
			stale, err := recordJob(ctx, tx, r.Node, j, t)
			if err != nil {
				return fmt.Errorf("queue: record access of job %d: %w", j.JobID, err)
			}
			out.Stale = append(out.Stale, stale...)
		}
		return nil
	})
	if err != nil {
		return AccessRecorded{}, err
	}
	return out, nil
}

func recordMount(ctx context.Context, tx *wtx, r api.AccessReport, t int64) error {
	var c api.MountReport
	if r.Config != nil {
		c = *r.Config
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO node_mounts (node, mount, fstype, volume, cache_dir, cache_size, cache_eviction,
			cache_scan_interval, free_space_ratio, cache_free_bytes, version, lines, dropped, unattributed_bytes, unresolved_bytes,
			reports_dropped, reported_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
		ON CONFLICT (node, mount) DO UPDATE SET
			fstype = CASE WHEN ?18 THEN excluded.fstype ELSE fstype END,
			volume = CASE WHEN ?18 THEN excluded.volume ELSE volume END,
			cache_dir = CASE WHEN ?18 THEN excluded.cache_dir ELSE cache_dir END,
			cache_size = CASE WHEN ?18 THEN excluded.cache_size ELSE cache_size END,
			cache_eviction = CASE WHEN ?18 THEN excluded.cache_eviction ELSE cache_eviction END,
			cache_scan_interval = CASE WHEN ?18 THEN excluded.cache_scan_interval ELSE cache_scan_interval END,
			free_space_ratio = CASE WHEN ?18 THEN excluded.free_space_ratio ELSE free_space_ratio END,
			cache_free_bytes = CASE WHEN ?18 THEN excluded.cache_free_bytes ELSE cache_free_bytes END,
			version = CASE WHEN ?18 THEN excluded.version ELSE version END,
			lines = lines + excluded.lines, dropped = dropped + excluded.dropped,
			unattributed_bytes = unattributed_bytes + excluded.unattributed_bytes,
			unresolved_bytes = unresolved_bytes + excluded.unresolved_bytes,
			reports_dropped = reports_dropped + excluded.reports_dropped, reported_at = excluded.reported_at`,
		r.Node, r.Mount, c.FSType, c.Volume, c.CacheDir, c.CacheSize, c.CacheEviction, c.CacheScanInterval, c.FreeSpaceRatio,
		c.CacheFreeBytes, c.Version, max(r.Lines, 0), max(r.Dropped, 0), max(r.UnattributedBytes, 0), max(r.UnresolvedBytes, 0),
		max(r.ReportsDropped, 0), t, r.Config != nil)
	if err != nil {
		return fmt.Errorf("queue: record mount of %s: %w", r.Node, err)
	}
	return nil
}

// recordJob adds one job's report; it returns the datasets its misses marked
// stale.
func recordJob(ctx context.Context, tx *wtx, node string, j api.JobAccess, t int64) (stale []string, err error) {
	var bytes, files int64
	var first, last time.Time
	for _, p := range j.Paths {
		bytes += max(p.Bytes, 0)
		files += max(p.Files, 0)
		if !p.First.IsZero() && (first.IsZero() || p.First.Before(first)) {
			first = p.First
		}
		if p.Last.After(last) {
			last = p.Last
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO job_node_io (job_id, node, bytes, files, hit_bytes, miss_bytes, get_bytes, final,
			first_at, last_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
		ON CONFLICT (job_id, node) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + excluded.files,
			hit_bytes = hit_bytes + excluded.hit_bytes, miss_bytes = miss_bytes + excluded.miss_bytes,
			get_bytes = get_bytes + excluded.get_bytes, final = excluded.final,
			first_at = coalesce(min(first_at, excluded.first_at), first_at, excluded.first_at),
			last_at = coalesce(max(last_at, excluded.last_at), last_at, excluded.last_at), updated_at = excluded.updated_at`,
		int64(j.JobID), node, bytes, files, max(j.HitBytes, 0), max(j.MissBytes, 0), max(j.GetBytes, 0), j.Final,
		nullNS(first), nullNS(last), t); err != nil {
		return nil, err
	}
	for _, p := range j.Paths {
		if p.Dataset == "" || p.Dataset[0] != '/' {
			continue
		}
		var distinct int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO job_path_io (job_id, node, dataset, subpath, bytes, distinct_bytes, files, first_at, last_at)
				VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
			ON CONFLICT (job_id, node, dataset, subpath) DO UPDATE SET bytes = bytes + excluded.bytes,
				distinct_bytes = distinct_bytes + excluded.distinct_bytes, files = files + excluded.files,
				first_at = coalesce(min(first_at, excluded.first_at), first_at, excluded.first_at),
				last_at = coalesce(max(last_at, excluded.last_at), last_at, excluded.last_at)
			RETURNING distinct_bytes`,
			int64(j.JobID), node, p.Dataset, p.Subpath, max(p.Bytes, 0), max(p.DistinctBytes, 0), max(p.Files, 0),
			nullNS(p.First), nullNS(p.Last)).Scan(&distinct); err != nil {
			return nil, err
		}
		// The largest distinct bytes one job read here (over its nodes: a
		// job's ranks read the same files), decayed.
		var jobDistinct, jobFiles int64
		if err := tx.QueryRowContext(ctx, `SELECT max(distinct_bytes), max(files) FROM job_path_io WHERE job_id = ? AND dataset = ? AND subpath = ?`,
			int64(j.JobID), p.Dataset, p.Subpath).Scan(&jobDistinct, &jobFiles); err != nil {
			return nil, err
		}
		var ob, od, of float64
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT bytes, distinct_bytes, files, decayed_at FROM access_paths WHERE dataset = ? AND subpath = ?`,
			p.Dataset, p.Subpath).Scan(&ob, &od, &of, &at)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		k := decay(at, t)
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_paths (dataset, subpath, bytes, distinct_bytes, files, last_seen, decayed_at)
				VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
			ON CONFLICT (dataset, subpath) DO UPDATE SET bytes = excluded.bytes, distinct_bytes = excluded.distinct_bytes,
				files = excluded.files, last_seen = max(last_seen, excluded.last_seen), decayed_at = excluded.decayed_at`,
			p.Dataset, p.Subpath, ob*k+float64(max(p.Bytes, 0)), max(od*k, float64(jobDistinct)), max(of*k, float64(jobFiles)), t); err != nil {
			return nil, err
		}
	}
	// The job's cache counters, shared among the datasets it read on this
	// node in proportion to the bytes (so far: a report may carry counters
	// and no reads).
	if j.HitBytes+j.MissBytes > 0 {
		perDataset, total, err := jobDatasetBytes(ctx, tx, j.JobID, node)
		if err != nil {
			return nil, err
		}
		for ds, b := range perDataset {
			share := float64(b) / float64(total)
			var oh, om float64
			var at int64
			err := tx.QueryRowContext(ctx, `SELECT hit_bytes, miss_bytes, decayed_at FROM access_datasets WHERE dataset = ?`, ds).Scan(&oh, &om, &at)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			k := decay(at, t)
			if _, err := tx.ExecContext(ctx, `INSERT INTO access_datasets (dataset, hit_bytes, miss_bytes, last_seen, decayed_at)
					VALUES (?1, ?2, ?3, ?4, ?4)
				ON CONFLICT (dataset) DO UPDATE SET hit_bytes = excluded.hit_bytes, miss_bytes = excluded.miss_bytes,
					last_seen = excluded.last_seen, decayed_at = excluded.decayed_at`,
				ds, oh*k+share*float64(max(j.HitBytes, 0)), om*k+share*float64(max(j.MissBytes, 0)), t); err != nil {
				return nil, err
			}
			marked, err := missStaleTx(ctx, tx, ds, node, j.JobID, share*float64(max(j.HitBytes, 0)), share*float64(max(j.MissBytes, 0)), t)
			if err != nil {
				return nil, err
			}
			if marked {
				stale = append(stale, ds)
			}
		}
	}
	return stale, nil
}

// jobDatasetBytes returns the bytes a job read per dataset on node, and their sum.
func jobDatasetBytes(ctx context.Context, tx *wtx, job uint64, node string) (map[string]int64, int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT dataset, sum(bytes) FROM job_path_io WHERE job_id = ? AND node = ? GROUP BY dataset HAVING sum(bytes) > 0`,
		int64(job), node)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[string]int64{}
	var total int64
	for rows.Next() {
		var ds string
		var b int64
		if err := rows.Scan(&ds, &b); err != nil {
			return nil, 0, err
		}
		out[ds] = b
		total += b
	}
	return out, total, rows.Err()
}

// AccessStat is what the access history says about a dataset.
type AccessStat struct {
	// Density is the distinct bytes jobs read ÷ the dataset's bytes, in
	// [0,1]; negative when unknown (no reads, or the size is not measured).
	Density float64
	// HitRatio is hit ÷ (hit + miss) bytes of the jobs that read it;
	// negative when unknown.
	HitRatio float64
	// Subpaths read, busiest first.
	Subpaths []api.SubpathIO
}

// AccessStats returns the access history of every dataset that has one,
// keyed by dataset path.
func (s *Store) AccessStats(ctx context.Context) (_ map[string]*AccessStat, err error) {
	defer s.noteDamage(&err)
	out := map[string]*AccessStat{}
	get := func(ds string) *AccessStat {
		a := out[ds]
		if a == nil {
			a = &AccessStat{Density: -1, HitRatio: -1}
			out[ds] = a
		}
		return a
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ap.dataset, ap.subpath, ap.bytes, ap.distinct_bytes, ap.files, coalesce(d.bytes, 0)
		FROM access_paths ap LEFT JOIN datasets d ON d.path = ap.dataset ORDER BY ap.dataset, ap.bytes DESC`)
	if err != nil {
		return nil, fmt.Errorf("queue: access history: %w", err)
	}
	defer rows.Close()
	distinct := map[string]float64{}
	size := map[string]int64{}
	for rows.Next() {
		var ds, sub string
		var b, d, f float64
		var sz int64
		if err := rows.Scan(&ds, &sub, &b, &d, &f, &sz); err != nil {
			return nil, fmt.Errorf("queue: access history: %w", err)
		}
		a := get(ds)
		a.Subpaths = append(a.Subpaths, api.SubpathIO{Dataset: ds, Subpath: sub, Bytes: int64(b), Files: int64(f)})
		distinct[ds] += d
		size[ds] = sz
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for ds, d := range distinct {
		if size[ds] > 0 {
			out[ds].Density = min(d/float64(size[ds]), 1)
		}
	}
	rows2, err := s.r.QueryContext(ctx, `SELECT dataset, hit_bytes, miss_bytes FROM access_datasets`)
	if err != nil {
		return nil, fmt.Errorf("queue: access history: %w", err)
	}
	defer rows2.Close()
	for rows2.Next() {
		var ds string
		var h, m float64
		if err := rows2.Scan(&ds, &h, &m); err != nil {
			return nil, fmt.Errorf("queue: access history: %w", err)
		}
		if h+m > 0 {
			get(ds).HitRatio = h / (h + m)
		}
	}
	return out, rows2.Err()
}

// JobIO returns Slurm job jobID's I/O report; ErrNotFound when no agent
// reported on it.
func (s *Store) JobIO(ctx context.Context, jobID uint64) (_ *api.JobIO, err error) {
	defer s.noteDamage(&err)
	out := &api.JobIO{JobID: jobID, Nodes: []api.JobNodeIO{}, Subpaths: []api.SubpathIO{}}
	rows, err := s.r.QueryContext(ctx, `SELECT node, bytes, files, hit_bytes, miss_bytes, get_bytes, final, first_at, last_at
		FROM job_node_io WHERE job_id = ? ORDER BY node`, int64(jobID))
	if err != nil {
		return nil, fmt.Errorf("queue: job %d I/O: %w", jobID, err)
	}
	defer rows.Close()
	out.Final = true
	var first, last time.Time
	for rows.Next() {
		var n api.JobNodeIO
		var f, l sql.NullInt64
		if err := rows.Scan(&n.Node, &n.Bytes, &n.Files, &n.HitBytes, &n.MissBytes, &n.GetBytes, &n.Final, &f, &l); err != nil {
			return nil, fmt.Errorf("queue: job %d I/O: %w", jobID, err)
		}
		n.First, n.Last = ptrNS(f), ptrNS(l)
		n.HitRatio = hitRatio(n.HitBytes, n.MissBytes)
		out.Nodes = append(out.Nodes, n)
		out.Bytes += n.Bytes
		out.Files += n.Files
		out.HitBytes += n.HitBytes
		out.MissBytes += n.MissBytes
		out.GetBytes += n.GetBytes
		out.Final = out.Final && n.Final
		if n.First != nil && (first.IsZero() || n.First.Before(first)) {
			first = *n.First
		}
		if n.Last != nil && n.Last.After(last) {
			last = *n.Last
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out.Nodes) == 0 {
		return nil, fmt.Errorf("queue: no agent reported I/O of job %d: %w", jobID, ErrNotFound)
	}
	out.HitRatio = hitRatio(out.HitBytes, out.MissBytes)
	if !first.IsZero() {
		out.First, out.Last = &first, &last
	}
	sub, err := s.r.QueryContext(ctx, `SELECT dataset, subpath, sum(bytes), sum(files) FROM job_path_io WHERE job_id = ?
		GROUP BY dataset, subpath ORDER BY sum(bytes) DESC, dataset, subpath`, int64(jobID))
	if err != nil {
		return nil, fmt.Errorf("queue: job %d I/O: %w", jobID, err)
	}
	defer sub.Close()
	for sub.Next() {
		var x api.SubpathIO
		if err := sub.Scan(&x.Dataset, &x.Subpath, &x.Bytes, &x.Files); err != nil {
			return nil, fmt.Errorf("queue: job %d I/O: %w", jobID, err)
		}
		out.Subpaths = append(out.Subpaths, x)
	}
	if err := sub.Err(); err != nil {
		return nil, err
	}
	// Prolog wait: from the prolog's start to the job's first read (the
	// prolog does not report when it let the job go).
	var started sql.NullInt64
	_ = s.r.QueryRowContext(ctx, `SELECT started_at FROM jobs WHERE job_id = ?`, int64(jobID)).Scan(&started)
	if started.Valid && !first.IsZero() {
		out.PrologWaitSeconds = max(first.Sub(fromNS(started.Int64)).Seconds(), 0)
	}
	out.Mounts, err = s.nodeMounts(ctx, out.Nodes)
	return out, err
}

func hitRatio(h, m int64) float64 {
	if h+m <= 0 {
		return -1
	}
	return float64(h) / float64(h+m)
}

// NodeMounts returns the mount configurations agents reported.
func (s *Store) NodeMounts(ctx context.Context) (_ []api.NodeMount, err error) {
	defer s.noteDamage(&err)
	return s.nodeMounts(ctx, nil)
}

func (s *Store) nodeMounts(ctx context.Context, only []api.JobNodeIO) ([]api.NodeMount, error) {
	want := map[string]bool{}
	for _, n := range only {
		want[n.Node] = true
	}
	rows, err := s.r.QueryContext(ctx, `SELECT node, mount, fstype, volume, cache_dir, cache_size, cache_eviction, cache_scan_interval,
		free_space_ratio, cache_free_bytes, version, reported_at, lines, dropped, unattributed_bytes, unresolved_bytes, reports_dropped
		FROM node_mounts ORDER BY node, mount`)
	if err != nil {
		return nil, fmt.Errorf("queue: node mounts: %w", err)
	}
	defer rows.Close()
	var out []api.NodeMount
	for rows.Next() {
		var m api.NodeMount
		var at int64
		if err := rows.Scan(&m.Node, &m.Mount, &m.FSType, &m.Volume, &m.CacheDir, &m.CacheSize, &m.CacheEviction,
			&m.CacheScanInterval, &m.FreeSpaceRatio, &m.CacheFreeBytes, &m.Version, &at,
			&m.Lines, &m.Dropped, &m.UnattributedBytes, &m.UnresolvedBytes, &m.ReportsDropped); err != nil {
			return nil, fmt.Errorf("queue: node mounts: %w", err)
		}
		m.ReportedAt = fromNS(at)
		if len(only) == 0 || want[m.Node] {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, rows.Err()
}

// fillAccess adds the access history's density and hit ratio to datasets.
func (s *Store) fillAccess(ctx context.Context, ds []api.Dataset) error {
	st, err := s.AccessStats(ctx)
	if err != nil || len(st) == 0 {
		return err
	}
	for i := range ds {
		if a := st[ds[i].Path]; a != nil {
			if a.Density >= 0 {
				ds[i].ReadDensity = &a.Density
			}
			if a.HitRatio >= 0 {
				ds[i].HitRatio = &a.HitRatio
			}
		}
	}
	return nil
}

// fillHitRates sets the planner's hit-rate factor of each dataset to its
// read density (the fraction of it jobs read; warming all of a dataset that
// jobs read all of pays most), or to its byte hit ratio when its size is
// not known yet; it stays -1 (unknown) without access history.
func (s *Store) fillHitRates(ctx context.Context, ds []planner.Dataset) error {
	st, err := s.AccessStats(ctx)
	if err != nil || len(st) == 0 {
		return err
	}
	for i := range ds {
		if a := st[ds[i].Path]; a != nil {
			switch {
			case a.Density >= 0:
				ds[i].HitRate = a.Density
			case a.HitRatio >= 0:
				ds[i].HitRate = a.HitRatio
			}
		}
	}
	return nil
}

// HotSubpaths returns the subdirectories of dataset that jobs read (access
// history, busiest first) as absolute paths, and the share of the dataset's
// bytes they hold (distinct bytes read there ÷ dataset bytes). It returns
// nothing when there is no history, when jobs read files directly in the
// dataset (".": no subdirectory to narrow to), or when the subpaths read
// hold at least maxShare of the dataset (narrowing would not help).
func (s *Store) HotSubpaths(ctx context.Context, dataset string, maxShare float64) (_ []string, share float64, err error) {
	defer s.noteDamage(&err)
	rows, err := s.r.QueryContext(ctx, `SELECT ap.subpath, ap.distinct_bytes, coalesce(d.bytes, 0) FROM access_paths ap
		LEFT JOIN datasets d ON d.path = ap.dataset WHERE ap.dataset = ? AND ap.bytes > 0 ORDER BY ap.bytes DESC, ap.subpath`, dataset)
	if err != nil {
		return nil, 0, fmt.Errorf("queue: hot subpaths of %s: %w", dataset, err)
	}
	defer rows.Close()
	var out []string
	var distinct float64
	var size int64
	for rows.Next() {
		var sub string
		var d float64
		if err := rows.Scan(&sub, &d, &size); err != nil {
			return nil, 0, fmt.Errorf("queue: hot subpaths of %s: %w", dataset, err)
		}
		if sub == "." || sub == "" {
			return nil, 0, rows.Err()
		}
		out = append(out, dataset+"/"+sub)
		distinct += d
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(out) == 0 || size <= 0 {
		return nil, 0, nil
	}
	share = min(distinct/float64(size), 1)
	if share >= maxShare {
		return nil, share, nil
	}
	return out, share, nil
}

// MarkHotReady records that the part of task id's dataset its warm-up warms
// first (api.HotPart: the subdirectories jobs read, or the first ReleaseAt
// of its bytes) was verified warm during its current attempt; owner must
// hold the task's lease. Jobs naming the dataset are
// then ready (api.JobDataset.HotReady) while the rest warms.
func (s *Store) MarkHotReady(ctx context.Context, id int64, owner string, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET hot_ready_at = ? WHERE id = ? AND state = 'warming' AND lease_owner = ?`,
			ns(now), id, owner)
		if err != nil {
			return fmt.Errorf("queue: mark task %d hot-ready: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("queue: mark task %d hot-ready: %w", id, ErrLeaseLost)
		}
		return nil
	})
}

// NoteWarming sets the reason of task id while owner warms it (e.g. what a
// narrowed warm-up does), shown by `swarmup queue`.
func (s *Store) NoteWarming(ctx context.Context, id int64, owner, note string) error {
	return s.inTx(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET reason = ? WHERE id = ? AND state = 'warming' AND lease_owner = ?`, note, id, owner)
		if err != nil {
			return fmt.Errorf("queue: note on task %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("queue: note on task %d: %w", id, ErrLeaseLost)
		}
		return nil
	})
}
