package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// MissEvidenceBytes is the least a report's misses on a dataset must come to
// before they mark it stale: one JuiceFS block (4 MiB), so that a few
// metadata-sized misses (or rounding of the node's shared counters) do not.
const MissEvidenceBytes = 4 << 20

// MissSuspect is the one rule that turns a miss report into a stale event:
// a job's share of misses on a warm dataset (missBytes of hitBytes+missBytes)
// is evidence that its status is out of date when it is at least
// MissEvidenceBytes and its miss fraction is more than the dataset's last
// ratio allows (1 − ratio, plus the ratio's bound when it was sampled). The
// counters are the node mount's, shared with the jobs that ran there at the
// same time, so this is a suspicion for a check to settle, never a verdict.
func MissSuspect(hitBytes, missBytes, ratio, bound float64) bool {
	if missBytes < MissEvidenceBytes || hitBytes+missBytes <= 0 {
		return false
	}
	return missBytes/(hitBytes+missBytes) > 1-ratio+bound
}

// clearStale is the SET clause that forgets a dataset's stale event (a check
// that measured it again, or an eviction that set its ratio).
const clearStale = `stale_at = NULL, stale_reason = NULL, stale_detail = ''`

// markStaleTx marks path stale for reason unless it already is (the first
// event since the last check is kept) or its task is not warm. It reports
// whether it marked it.
func markStaleTx(ctx context.Context, tx *wtx, path string, reason api.StaleReason, detail string, t int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE datasets SET stale_at = ?, stale_reason = ?, stale_detail = ?
		WHERE path = ? AND stale_at IS NULL AND id IN (SELECT dataset_id FROM tasks WHERE state = ?)`,
		t, string(reason), detail, path, string(api.TaskWarm))
	if err != nil {
		return false, fmt.Errorf("queue: mark %s stale: %w", path, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// MarkStale records an event (reason, detail) that says the cached ratio of
// each of paths may be out of date since its last check. Only datasets whose
// task is warm are marked, and one already stale keeps its first event. It
// returns the paths it marked (the cache manager refreshes them first).
func (s *Store) MarkStale(ctx context.Context, paths []string, reason api.StaleReason, detail string, now time.Time) (marked []string, err error) {
	err = s.inTx(ctx, func(tx *wtx) error {
		marked = marked[:0]
		for _, p := range paths {
			ok, err := markStaleTx(ctx, tx, p, reason, detail, ns(now))
			if err != nil {
				return err
			}
			if ok {
				marked = append(marked, p)
			}
		}
		return nil
	})
	return marked, err
}

// missStaleTx applies MissSuspect to a job's share of misses on dataset ds
// and marks it stale when it holds; it reports whether it marked it.
func missStaleTx(ctx context.Context, tx *wtx, ds, node string, job uint64, hit, miss float64, t int64) (bool, error) {
	var ratio, bound float64
	err := tx.QueryRowContext(ctx, `SELECT d.cached_ratio, d.ratio_bound FROM datasets d JOIN tasks t ON t.dataset_id = d.id
		WHERE d.path = ? AND t.state = ? AND d.stale_at IS NULL`, ds, string(api.TaskWarm)).Scan(&ratio, &bound)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !MissSuspect(hit, miss, ratio, bound) {
		return false, nil
	}
	detail := fmt.Sprintf("job %d on %s: %.0f of %.0f bytes read missed the cache", job, node, miss, hit+miss)
	return markStaleTx(ctx, tx, ds, api.StaleMissReport, detail, t)
}

// StaleCandidates returns up to limit warm datasets marked stale by an
// event, oldest event first (index datasets_stale). A stale dataset queued
// again is left out: its warm-up's verification will clear the mark.
func (s *Store) StaleCandidates(ctx context.Context, limit int) (_ []CheckCandidate, err error) {
	defer s.done(time.Now(), &err)
	return s.checkCandidates(ctx, `WHERE d.stale_at IS NOT NULL AND t.state = ?1 ORDER BY d.stale_at, d.id LIMIT ?3`, limit)
}

// WarmDataset is a dataset whose task is warm, and when it was last checked.
type WarmDataset struct {
	Path      string
	CheckedAt time.Time // zero when never checked
	Stale     bool      // already marked stale by an event
}

// WarmDatasets lists the datasets whose task is warm (the ones an event can
// mark stale), by path.
func (s *Store) WarmDatasets(ctx context.Context) (_ []WarmDataset, err error) {
	defer s.done(time.Now(), &err)
	rows, err := s.r.QueryContext(ctx, `SELECT d.path, d.checked_at, d.stale_at IS NOT NULL
		FROM datasets d JOIN tasks t ON t.dataset_id = d.id WHERE t.state = ? ORDER BY d.path`, string(api.TaskWarm))
	out, err := readAll(rows, err, func(rows *sql.Rows, w *WarmDataset) error {
		var at sql.NullInt64
		err := rows.Scan(&w.Path, &at, &w.Stale)
		w.CheckedAt = fromNullNS(at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: warm datasets: %w", err)
	}
	return out, nil
}

// ChangelogCursor returns the last JuiceFS changelog version read from
// volume (0: none yet).
func (s *Store) ChangelogCursor(ctx context.Context, volume string) (v int64, err error) {
	defer s.done(time.Now(), &err)
	err = s.r.QueryRowContext(ctx, `SELECT version FROM changelog_cursor WHERE volume = ?`, volume).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("queue: changelog cursor of %s: %w", volume, err)
	}
	return v, nil
}

// SetChangelogCursor records that the changelog of volume was read up to
// version (never backwards).
func (s *Store) SetChangelogCursor(ctx context.Context, volume string, version int64, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO changelog_cursor (volume, version, updated_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (volume) DO UPDATE SET version = max(version, excluded.version), updated_at = excluded.updated_at`,
			volume, version, ns(now)); err != nil {
			return fmt.Errorf("queue: changelog cursor of %s: %w", volume, err)
		}
		return nil
	})
}
