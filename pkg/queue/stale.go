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

// clearStale is the SET clause that forgets a dataset's stale event (an
// eviction, which sets its ratio whatever happened).
const clearStale = `stale_at = NULL, stale_reason = NULL, stale_detail = ''`

// checkedSince is the SET clause of a check that began at the time bound to
// param (a "?N" placeholder): it records that time and forgets a stale event
// recorded before it, keeping one recorded during the check, which the check
// may not have seen.
func checkedSince(param string) string {
	return `check_started_at = ` + param + `,
		stale_reason = CASE WHEN stale_at <= ` + param + ` THEN NULL ELSE stale_reason END,
		stale_detail = CASE WHEN stale_at <= ` + param + ` THEN '' ELSE stale_detail END,
		stale_at = CASE WHEN stale_at <= ` + param + ` THEN NULL ELSE stale_at END`
}

// staleStates are the states of the tasks whose dataset an event of reason
// can mark stale: a warm one, whose status it may contradict, and for a
// changelog event also a warming one, whose closing check may have begun
// before the change (a check clears only the events before it began, see
// checkedSince). A miss report on a warming dataset says nothing: it is
// not warm yet.
func staleStates(reason api.StaleReason) (string, string) {
	if reason == api.StaleChangelog {
		return string(api.TaskWarm), string(api.TaskWarming)
	}
	return string(api.TaskWarm), string(api.TaskWarm)
}

// markStaleTx marks path stale for reason unless it already is (the first
// event since the last check is kept) or its task is not in staleStates. It
// reports whether it marked it. It looks up the one dataset's task (EXISTS):
// an IN over the tasks in those states listed every warm dataset first, 20
// ms a mark on 100 000 of them, in the writer.
func markStaleTx(ctx context.Context, tx *wtx, path string, reason api.StaleReason, detail string, t int64) (bool, error) {
	s1, s2 := staleStates(reason)
	res, err := tx.ExecContext(ctx, markStaleSQL, t, string(reason), detail, path, s1, s2)
	if err != nil {
		return false, fmt.Errorf("queue: mark %s stale: %w", path, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// markStaleSQL is markStaleTx's statement.
const markStaleSQL = `UPDATE datasets SET stale_at = ?, stale_reason = ?, stale_detail = ?
	WHERE path = ? AND stale_at IS NULL
		AND EXISTS (SELECT 1 FROM tasks t WHERE t.dataset_id = datasets.id AND t.state IN (?, ?))`

// StaleMark is one dataset an event concerns, what the event was, and when
// it happened (zero: when it is recorded). A check clears the mark only if
// it began after that time (checkedSince).
type StaleMark struct {
	Path   string
	Detail string
	At     time.Time
}

// MarkStale records, in one transaction, events of reason that say the
// cached ratio of each dataset in marks may be out of date since its last
// check. Only datasets whose task is in staleStates are marked, and one
// already stale keeps its first event. It returns the paths it marked (the
// cache manager refreshes them first).
func (s *Store) MarkStale(ctx context.Context, reason api.StaleReason, marks []StaleMark, now time.Time) (marked []string, err error) {
	err = s.inTx(ctx, func(tx *wtx) error {
		marked = marked[:0]
		for _, m := range marks {
			ok, err := markStaleTx(ctx, tx, m.Path, reason, m.Detail, ns(knownBy(m.At, now)))
			if err != nil {
				return err
			}
			if ok {
				marked = append(marked, m.Path)
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
	return s.checkCandidates(ctx, staleWhere, limit)
}

// WatchedDataset is a dataset a changelog event can mark stale, and when
// its last check began.
type WatchedDataset struct {
	Path         string
	CheckStarted time.Time // zero when never checked
	Stale        bool      // already marked stale by an event
}

// WatchedDatasets lists the datasets a changelog event can mark stale (their
// task is in staleStates), by path. CheckStarted is when the last check
// began, or ended for checks recorded before that was kept.
func (s *Store) WatchedDatasets(ctx context.Context) (_ []WatchedDataset, err error) {
	defer s.done(time.Now(), &err)
	s1, s2 := staleStates(api.StaleChangelog)
	rows, err := s.r.QueryContext(ctx, `SELECT d.path, coalesce(d.check_started_at, d.checked_at), d.stale_at IS NOT NULL
		FROM datasets d JOIN tasks t ON t.dataset_id = d.id WHERE t.state IN (?, ?) ORDER BY d.path`, s1, s2)
	out, err := readAll(rows, err, func(rows *sql.Rows, w *WatchedDataset) error {
		var at sql.NullInt64
		err := rows.Scan(&w.Path, &at, &w.Stale)
		w.CheckStarted = fromNullNS(at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: datasets the changelog watches: %w", err)
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
