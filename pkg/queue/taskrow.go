package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/accel-data/accel-data/pkg/api"
)

// taskOwner is whom a task warms for: the source and uid of its request.
type taskOwner struct {
	source api.Source
	uid    int64
}

// pathTaskTx looks up path's dataset and the dataset's task; each is not
// Valid when there is none (state is then "").
func pathTaskTx(ctx context.Context, tx *wtx, path string) (dsID, taskID sql.NullInt64, state api.TaskState, err error) {
	var st sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT d.id, t.id, t.state FROM datasets d LEFT JOIN tasks t ON t.dataset_id = d.id WHERE d.path = ?`, path).
		Scan(&dsID, &taskID, &st)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return dsID, taskID, "", fmt.Errorf("queue: look up %s: %w", path, err)
	}
	return dsID, taskID, api.TaskState(st.String), nil
}

// addTaskTx queues a new task for path with reason why, adding the dataset
// first when dsID is not Valid, and returns the task's id. now is in ns.
func addTaskTx(ctx context.Context, tx *wtx, dsID sql.NullInt64, path string, o taskOwner, why string, now int64) (int64, error) {
	if !dsID.Valid {
		// Not checkable (migration 0015): its task comes next, queued.
		res, err := tx.ExecContext(ctx, `INSERT INTO datasets (path, created_at, checkable) VALUES (?, ?, 0)`, path, now)
		if err != nil {
			return 0, fmt.Errorf("queue: add dataset %s: %w", path, err)
		}
		dsID.Int64, _ = res.LastInsertId()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO tasks (dataset_id, state, source, owner_uid, reason, created_at, updated_at, queued_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)`, dsID.Int64, string(api.TaskQueued), string(o.source), o.uid, why, now)
	if err != nil {
		return 0, fmt.Errorf("queue: add task for %s: %w", path, err)
	}
	return res.LastInsertId()
}

// reviveTx puts a terminal task back to queued in place with reason why and
// a fresh attempt budget. With o set, the task changes hands to o's request;
// else its owner and source are kept. Either way the requests of people and
// of the active policy made before the task ended are dropped: they were
// fulfilled when it ended (see claims.go), so they must not keep the revived
// task alive once its jobs end, nor exempt it from MaxRequestBytes. The
// claims of jobs stay (a job that has not ended still waits for the data,
// and no other user's cancel may undo that), and so do requests made since
// (joining the warm task, e.g. the `swarmup warm` whose re-verification
// revives it). now is in ns.
func reviveTx(ctx context.Context, tx *wtx, taskID int64, why string, o *taskOwner, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM claims WHERE task_id = ?1 AND job_id IS NULL
			AND created_at <= (SELECT coalesce(finished_at, 0) FROM tasks WHERE id = ?1)`, taskID); err != nil {
		return fmt.Errorf("queue: revive task %d: drop fulfilled requests: %w", taskID, err)
	}
	var src, uid any // NULL: kept
	if o != nil {
		src, uid = string(o.source), o.uid
	}
	_, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?1, attempts = 0, not_before = 0,
			source = coalesce(?2, source), owner_uid = coalesce(?3, owner_uid),
			reason = ?4, updated_at = ?5, queued_at = ?5, started_at = NULL, finished_at = NULL WHERE id = ?6`,
		string(api.TaskQueued), src, uid, why, now, taskID)
	if err != nil {
		return fmt.Errorf("queue: revive task %d: %w", taskID, err)
	}
	return nil
}

// readAll scans every row of a query's answer with scan and closes the rows
// before it returns, so the transaction may write next. err is the query's.
func readAll[T any](rows *sql.Rows, err error, scan func(*sql.Rows, *T) error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryIDs runs a query whose rows are one id each and returns the ids.
func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	return readAll(rows, err, func(r *sql.Rows, id *int64) error { return r.Scan(id) })
}
