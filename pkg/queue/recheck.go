package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// LastCheck is when a path's own `juicefs warmup --check` last finished,
// what it found, and the state of the path's own task.
type LastCheck struct {
	CheckedAt time.Time // zero when the path was never checked by itself
	Ratio     float64
	State     api.TaskState // "" when the path has no task of its own
	// Stale is the event since CheckedAt (a miss report, the changelog)
	// that says the ratio may be out of date; "" when none.
	Stale api.StaleReason
}

// LastChecks returns the last check of each path that has a row in the cache
// status table (one indexed read); other paths are absent.
func (s *Store) LastChecks(ctx context.Context, paths []string) (map[string]LastCheck, error) {
	out := make(map[string]LastCheck, len(paths))
	if len(paths) == 0 {
		return out, nil
	}
	b, err := json.Marshal(paths)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT d.path, d.checked_at, d.cached_ratio, coalesce(t.state, ''), coalesce(d.stale_reason, '')
		FROM datasets d LEFT JOIN tasks t ON t.dataset_id = d.id
		WHERE d.path IN (SELECT value FROM json_each(?))`, string(b))
	type pathCheck struct {
		path string
		LastCheck
	}
	list, err := readAll(rows, err, func(rows *sql.Rows, c *pathCheck) error {
		var at sql.NullInt64
		var st, stale string
		err := rows.Scan(&c.path, &at, &c.Ratio, &st, &stale)
		c.CheckedAt, c.State, c.Stale = fromNullNS(at), api.TaskState(st), api.StaleReason(stale)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: last checks: %w", err)
	}
	for _, c := range list {
		out[c.path] = c.LastCheck
	}
	return out, nil
}

// Requeue queues path to be warmed again because a check found its data
// short of warm (blocks evicted behind warmupd's back, or new data under a
// warm parent), or could not say in time. Its own task, if terminal, is
// revived to queued in place (owner, source and job links kept, a fresh
// attempt budget); a path that has no task yet (it was covered by a parent's
// task) gets one, and the links of live jobs that named the path move to it.
// A task already queued or warming is left alone. It returns the task id.
func (s *Store) Requeue(ctx context.Context, path, why string, now time.Time) (int64, error) {
	var taskID int64
	err := s.inTx(ctx, func(tx *wtx) error {
		var err error
		taskID, err = requeueTx(ctx, tx, path, why, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	return taskID, nil
}

// Short records that a re-verification found path short of warm (or could
// not say). When a live job links the path, or a request made since its task
// ended wants it (see wantedNowTx), it is queued again (Requeue) and queued
// is true. Otherwise nobody needs it now (e.g. the status of a job that
// ended was asked): its own warm or partial task becomes evicted with why
// (its cached bytes 0, as MarkEvicted), and the next request or job start
// warms it again. The re-verification and the periodic refresh both use it. It returns the path's task id (0 when it has none).
func (s *Store) Short(ctx context.Context, path, why string, now time.Time) (taskID int64, queued bool, err error) {
	err = s.inTx(ctx, func(tx *wtx) error {
		wanted, err := wantedNowTx(ctx, tx, path)
		if err != nil {
			return err
		}
		if wanted {
			taskID, err = requeueTx(ctx, tx, path, why, now)
			queued = err == nil
			return err
		}
		var dsID int64
		var st string
		err = tx.QueryRowContext(ctx, `SELECT t.id, d.id, t.state FROM datasets d JOIN tasks t ON t.dataset_id = d.id WHERE d.path = ?`, path).Scan(&taskID, &dsID, &st)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("queue: %s found short: %w", path, err)
		}
		if s := api.TaskState(st); s != api.TaskWarm && s != api.TaskPartial {
			return nil
		}
		return markEvictedTx(ctx, tx, taskID, dsID, why+"; no job or request needs it now", now)
	})
	return taskID, queued, err
}

// wantedNowTx reports whether a job that has not ended links path, or a
// person's (or the active policy's) request for path was made while its
// task was live or after it ended (a request its task already fulfilled
// does not count; see reviveTx).
func wantedNowTx(ctx context.Context, tx *wtx, path string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, wantedNowSQL, pathLinkArgs(path)...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("queue: who needs %s: %w", path, err)
	}
	return n > 0, nil
}

// requeueTx is Requeue inside tx.
func requeueTx(ctx context.Context, tx *wtx, path, why string, now time.Time) (int64, error) {
	var taskID int64
	dsID, tid, state, err := pathTaskTx(ctx, tx, path)
	if err != nil {
		return 0, err
	}
	switch {
	case tid.Valid && !state.Terminal():
		taskID = tid.Int64 // queued or warming: already on its way
	case tid.Valid:
		taskID = tid.Int64
		if err := reviveTx(ctx, tx, taskID, why, nil, ns(now)); err != nil {
			return 0, fmt.Errorf("queue: requeue %s: %w", path, err)
		}
	default:
		o, err := neederTx(ctx, tx, path)
		if err != nil {
			return 0, err
		}
		if taskID, err = addTaskTx(ctx, tx, dsID, path, o, why, ns(now)); err != nil {
			return 0, err
		}
	}
	args := append(pathLinkArgs(path), taskID)
	if _, err := tx.ExecContext(ctx, moveLiveLinksSQL, args...); err != nil {
		return 0, fmt.Errorf("queue: requeue %s: move job links: %w", path, err)
	}
	// The requests for this very path go with it, so the task lives
	// exactly as long as they want it (see claims.go).
	if _, err := tx.ExecContext(ctx, moveClaimsSQL, args...); err != nil {
		return 0, fmt.Errorf("queue: requeue %s: move requests: %w", path, err)
	}
	return taskID, nil
}

// neederTx is who a new task for path (covered by a parent's task until a
// check found it short) belongs to: the user of the first live job that
// names path (source prolog once it started, else submit), else the first
// person's request for it; not the parent's owner, who never asked for this
// path. With neither (a bare Requeue), the owner of the parent task the
// latest job's link pointed to, else root's prolog task. Each is asked only
// when the one before found nobody.
func neederTx(ctx context.Context, tx *wtx, path string) (taskOwner, error) {
	o := taskOwner{source: api.SourceProlog}
	args := pathLinkArgs(path)
	for _, q := range neederSQL {
		err := tx.QueryRowContext(ctx, q.sql, args[:q.nargs]...).Scan(&o.source, &o.uid)
		if err == nil {
			return o, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return o, fmt.Errorf("queue: requeue %s: who needs it: %w", path, err)
		}
	}
	return o, nil
}

// reviveEvictedTx queues again the evicted tasks job id (jobs.id) is linked
// to: it needs their data now.
func (s *Store) reviveEvictedTx(ctx context.Context, tx *wtx, id int64, now time.Time) error {
	ids, err := queryIDs(ctx, tx, `SELECT DISTINCT t.id FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id
		WHERE jt.job_id = ? AND t.state = ?`, id, string(api.TaskEvicted))
	if err != nil {
		return err
	}
	for _, tid := range ids {
		if err := reviveTx(ctx, tx, tid, "evicted, and a job that needs it started: warming again", nil, ns(now)); err != nil {
			return err
		}
	}
	return nil
}
