package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Cancel is Withdraw, returning only the ids of the tasks actually
// cancelled (whose warm-ups must stop).
func (s *Store) Cancel(ctx context.Context, uid uint32, r api.CancelRequest, now time.Time) ([]int64, error) {
	resp, err := s.Withdraw(ctx, uid, r, now)
	if err != nil {
		return nil, err
	}
	return resp.Cancelled, nil
}

// cancelTarget is one task a cancel names, and which of its claims it
// concerns: all of them (scope "": named by its dataset path or its id), or
// only those for one path below its dataset (a request it covered).
type cancelTarget struct {
	id    int64
	what  string
	scope string
	state api.TaskState
}

// Withdraw withdraws uid's requests (claims) for the queued and warming
// tasks named by path or id; root (uid 0) withdraws everyone's. A task is
// cancelled only when no request or live job of anyone else still wants it,
// and one still wanted only for paths below it gives those paths their own
// tasks back (see settle); otherwise it goes on, and the answer says how many
// requests and jobs keep it. A path may also name a request covered by a
// parent's task. It is all or nothing: an unknown path or id gives
// ErrNotFound, a task uid has no request for ErrNotOwner, and nothing
// changes. Tasks already finished are left alone and not listed. A cancelled
// warming task loses its lease, so its worker's next Heartbeat returns
// ErrLeaseLost.
func (s *Store) Withdraw(ctx context.Context, uid uint32, r api.CancelRequest, now time.Time) (*api.CancelResponse, error) {
	resp := &api.CancelResponse{Cancelled: []int64{}, Items: []api.CancelItem{}}
	err := s.inTx(ctx, func(tx *wtx) error {
		var targets []cancelTarget
		for _, p := range r.Paths {
			ts, err := pathTargets(ctx, tx, p)
			if err != nil {
				return err
			}
			targets = append(targets, ts...)
		}
		for _, id := range r.TaskIDs {
			t := cancelTarget{id: id, what: fmt.Sprintf("task %d", id)}
			var st string
			err := tx.QueryRowContext(ctx, `SELECT state FROM tasks WHERE id = ?`, id).Scan(&st)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("queue: cancel: no task %d (see `swarmup` for the queue): %w", id, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("queue: cancel task %d: %w", id, err)
			}
			t.state = api.TaskState(st)
			targets = append(targets, t)
		}
		seen := map[int64]int{} // task id -> index in resp.Items
		for _, t := range targets {
			if t.state != api.TaskQueued && t.state != api.TaskWarming {
				continue
			}
			k, again := seen[t.id]
			n, err := withdrawClaims(ctx, tx, uid, t, again)
			if err != nil {
				return err
			}
			if again {
				resp.Items[k].Withdrawn += n
				continue
			}
			var ds string
			if err := tx.QueryRowContext(ctx, `SELECT d.path FROM tasks t JOIN datasets d ON d.id = t.dataset_id WHERE t.id = ?`, t.id).Scan(&ds); err != nil {
				return fmt.Errorf("queue: cancel %s: %w", t.what, err)
			}
			seen[t.id] = len(resp.Items)
			resp.Items = append(resp.Items, api.CancelItem{TaskID: t.id, Dataset: ds, Withdrawn: n})
		}
		for i := range resp.Items {
			it := &resp.Items[i]
			st, err := s.settle(ctx, tx, it.TaskID, fmt.Sprintf("cancelled by uid %d", uid), true, now)
			if err != nil {
				return err
			}
			it.Cancelled, it.StillWanted, it.Restored = st.cancelled, st.stillWanted, st.restored
			if st.cancelled {
				resp.Cancelled = append(resp.Cancelled, it.TaskID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// pathTargets finds what a cancel of path p names: the task of the dataset
// p, and when that task is not queued or warming, the live tasks that cover
// a request for p. ErrNotFound when there is neither.
func pathTargets(ctx context.Context, tx *wtx, p string) ([]cancelTarget, error) {
	var own *cancelTarget
	var id int64
	var st string
	err := tx.QueryRowContext(ctx, `SELECT t.id, t.state FROM tasks t JOIN datasets d ON d.id = t.dataset_id WHERE d.path = ?`, p).Scan(&id, &st)
	switch {
	case err == nil:
		own = &cancelTarget{id: id, what: "path " + p, state: api.TaskState(st)}
		if own.state == api.TaskQueued || own.state == api.TaskWarming {
			return []cancelTarget{*own}, nil
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("queue: cancel %s: %w", p, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT t.id, t.state FROM claims c JOIN tasks t ON t.id = c.task_id
		WHERE c.path = ? AND t.state IN (?, ?) ORDER BY t.id`, p, string(api.TaskQueued), string(api.TaskWarming))
	out, err := readAll(rows, err, func(rows *sql.Rows, t *cancelTarget) error {
		*t = cancelTarget{what: "path " + p, scope: p}
		err := rows.Scan(&t.id, &st)
		t.state = api.TaskState(st)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: cancel %s: %w", p, err)
	}
	if len(out) == 0 && own != nil {
		out = append(out, *own) // finished: nothing to do, not an error
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("queue: cancel: no task for path %s (see `swarmup` for the queue): %w", p, ErrNotFound)
	}
	return out, nil
}

// withdrawClaims deletes uid's claims on target t (every claim when uid is
// root) and returns how many. A user with no claim there gets ErrNotOwner,
// naming who wants the task, unless again (the same cancel already withdrew
// from this task).
func withdrawClaims(ctx context.Context, tx *wtx, uid uint32, t cancelTarget, again bool) (int, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM claims WHERE task_id = ?1 AND (?2 = '' OR path = ?2) AND (?3 = 0 OR uid = ?3)`,
		t.id, t.scope, uid)
	if err != nil {
		return 0, fmt.Errorf("queue: cancel %s: %w", t.what, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 || uid == 0 || again {
		return int(n), nil
	}
	var owners string
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(group_concat(DISTINCT uid), '') FROM claims WHERE task_id = ?`, t.id).Scan(&owners); err != nil {
		return 0, fmt.Errorf("queue: cancel %s: %w", t.what, err)
	}
	if owners == "" {
		owners = "nobody (an old task: only root may cancel it)"
	} else {
		owners = "uid " + owners
	}
	return 0, fmt.Errorf("queue: cancel %s: uid %d has no request for it (it is wanted by %s); you can withdraw only your own requests: ask them or root: %w",
		t.what, uid, owners, ErrNotOwner)
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
// path in the cache status table, adding the dataset if it is new, and clears
// a stale event recorded before the check started. It does not change any
// task's state.
func (s *Store) RecordCheck(ctx context.Context, path string, c Check, now time.Time) error {
	started := c.began(now)
	return s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO datasets (path, files, bytes, cached_bytes, cached_ratio, checked_at, created_at,
				ratio_method, ratio_bound, ratio_sample, check_started_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10)
			ON CONFLICT (path) DO UPDATE SET files = excluded.files, bytes = excluded.bytes,
				cached_bytes = excluded.cached_bytes, cached_ratio = excluded.cached_ratio, checked_at = excluded.checked_at,
				ratio_method = excluded.ratio_method, ratio_bound = excluded.ratio_bound, ratio_sample = excluded.ratio_sample,
				`+checkedSince("?10"),
			path, c.Files, c.Bytes, c.CachedBytes, c.Ratio, ns(now), c.method(), c.Bound, c.Sample, ns(started))
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
