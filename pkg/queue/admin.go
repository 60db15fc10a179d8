package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Cancel cancels queued and warming tasks named by path or id, on behalf of
// uid: only a task's owner (its first requester) or root (uid 0) may. It is
// all or nothing: an unknown path or id gives ErrNotFound, someone else's task
// ErrNotOwner, and nothing is cancelled. Tasks already finished are left
// alone and not listed. A cancelled warming task loses its lease, so its
// worker's next Heartbeat returns ErrLeaseLost.
func (s *Store) Cancel(ctx context.Context, uid uint32, r api.CancelRequest, now time.Time) ([]int64, error) {
	cancelled := []int64{}
	err := s.inTx(ctx, func(tx *wtx) error {
		type target struct {
			id    int64
			what  string
			owner uint32
			state api.TaskState
		}
		var targets []target
		for _, p := range r.Paths {
			var t target
			var st string
			err := tx.QueryRowContext(ctx, `SELECT t.id, t.owner_uid, t.state FROM tasks t JOIN datasets d ON d.id = t.dataset_id WHERE d.path = ?`, p).
				Scan(&t.id, &t.owner, &st)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("queue: cancel: no task for path %s (see `swarmup` for the queue): %w", p, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("queue: cancel %s: %w", p, err)
			}
			t.what, t.state = "path "+p, api.TaskState(st)
			targets = append(targets, t)
		}
		for _, id := range r.TaskIDs {
			t := target{id: id, what: fmt.Sprintf("task %d", id)}
			var st string
			err := tx.QueryRowContext(ctx, `SELECT owner_uid, state FROM tasks WHERE id = ?`, id).Scan(&t.owner, &st)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("queue: cancel: no task %d (see `swarmup` for the queue): %w", id, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("queue: cancel task %d: %w", id, err)
			}
			t.state = api.TaskState(st)
			targets = append(targets, t)
		}
		seen := map[int64]bool{}
		for _, t := range targets {
			if uid != 0 && t.owner != uid {
				return fmt.Errorf("queue: cancel %s: owned by uid %d, not uid %d; ask its owner or root: %w", t.what, t.owner, uid, ErrNotOwner)
			}
			if seen[t.id] || (t.state != api.TaskQueued && t.state != api.TaskWarming) {
				continue
			}
			seen[t.id] = true
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?, lease_owner = NULL, lease_expires_at = NULL,
					reason = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
				string(api.TaskCancelled), fmt.Sprintf("cancelled by uid %d", uid), ns(now), ns(now), t.id); err != nil {
				return fmt.Errorf("queue: cancel %s: %w", t.what, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE attempts SET finished_at = ?, outcome = ?, error = ? WHERE task_id = ? AND finished_at IS NULL`,
				ns(now), string(api.TaskCancelled), fmt.Sprintf("cancelled by uid %d", uid), t.id); err != nil {
				return fmt.Errorf("queue: cancel %s: %w", t.what, err)
			}
			cancelled = append(cancelled, t.id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cancelled, nil
}

// SetPriorities sets the priority of tasks by id, in one transaction. Unknown
// ids are ignored (the task may have been removed meanwhile).
func (s *Store) SetPriorities(ctx context.Context, prio map[int64]float64) error {
	return s.inTx(ctx, func(tx *wtx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE tasks SET priority = ? WHERE id = ?`)
		if err != nil {
			return fmt.Errorf("queue: set priorities: %w", err)
		}
		defer stmt.Close()
		for id, p := range prio {
			if _, err := stmt.ExecContext(ctx, p, id); err != nil {
				return fmt.Errorf("queue: set priority of task %d: %w", id, err)
			}
		}
		return nil
	})
}

// RecordCheck stores the result of a periodic `juicefs warmup --check` of
// path in the cache status table, adding the dataset if it is new. It does not
// change any task's state.
func (s *Store) RecordCheck(ctx context.Context, path string, c Check, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO datasets (path, files, bytes, cached_bytes, cached_ratio, checked_at, created_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
			ON CONFLICT (path) DO UPDATE SET files = excluded.files, bytes = excluded.bytes,
				cached_bytes = excluded.cached_bytes, cached_ratio = excluded.cached_ratio, checked_at = excluded.checked_at`,
			path, c.Files, c.Bytes, c.CachedBytes, c.Ratio, ns(now))
		if err != nil {
			return fmt.Errorf("queue: record check of %s: %w", path, err)
		}
		return nil
	})
}

// SeedDatasets adds many datasets, each with a task in state (source active,
// owner root), in one transaction with prepared statements. It exists for
// benchmarks and simulations that need a large store quickly; paths must be
// new. A warming state is not allowed (it would need a lease).
func (s *Store) SeedDatasets(ctx context.Context, paths []string, state api.TaskState, now time.Time) error {
	if !state.Valid() || state == api.TaskWarming {
		return fmt.Errorf("queue: seed: state %q; use queued or a terminal state", state)
	}
	return s.inTx(ctx, func(tx *wtx) error {
		ds, err := tx.PrepareContext(ctx, `INSERT INTO datasets (path, created_at) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer ds.Close()
		ts, err := tx.PrepareContext(ctx, `INSERT INTO tasks (dataset_id, state, source, owner_uid, created_at, updated_at, queued_at, finished_at)
			VALUES (?1, ?2, ?3, 0, ?4, ?4, ?4, ?5)`)
		if err != nil {
			return err
		}
		defer ts.Close()
		finished := sql.NullInt64{}
		if state.Terminal() {
			finished = sql.NullInt64{Int64: ns(now), Valid: true}
		}
		for _, p := range paths {
			res, err := ds.ExecContext(ctx, p, ns(now))
			if err != nil {
				return fmt.Errorf("queue: seed %s: %w", p, err)
			}
			id, _ := res.LastInsertId()
			if _, err := ts.ExecContext(ctx, id, string(state), string(api.SourceActive), ns(now), finished); err != nil {
				return fmt.Errorf("queue: seed %s: %w", p, err)
			}
		}
		return nil
	})
}
