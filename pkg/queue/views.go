package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Queue lists the queued and warming tasks (every task when all is true) in
// dequeue order: warming first, then queued, then the rest; within each,
// highest priority first, then oldest.
func (s *Store) Queue(ctx context.Context, all bool) (_ []api.QueueEntry, err error) {
	defer s.done(time.Now(), &err)
	q := `SELECT t.id, d.path, t.state, t.priority, d.bytes, d.cached_bytes, d.cached_ratio,
			(SELECT count(DISTINCT jt.job_id) FROM job_tasks jt JOIN jobs j ON j.id = jt.job_id
				WHERE jt.task_id = t.id AND j.state IN (?3, ?4)),
			t.attempts, t.source, t.owner_uid, t.reason, t.created_at, t.updated_at, d.checked_at
		FROM tasks t JOIN datasets d ON d.id = t.dataset_id`
	if !all {
		// A plain IN lets SQLite read only the live tasks off the
		// tasks_dequeue index instead of every task ever warmed.
		q += ` WHERE t.state IN (?1, ?2)`
	}
	q += ` ORDER BY CASE t.state WHEN ?1 THEN 0 WHEN ?2 THEN 1 ELSE 2 END, t.priority DESC, t.created_at, t.id`
	rows, err := s.r.QueryContext(ctx, q, string(api.TaskWarming), string(api.TaskQueued),
		string(api.JobSubmitted), string(api.JobStarted))
	entries, err := readAll(rows, err, func(rows *sql.Rows, e *api.QueueEntry) error {
		var st, src string
		var created, updated int64
		var checked sql.NullInt64
		err := rows.Scan(&e.TaskID, &e.Dataset, &st, &e.Priority, &e.Bytes, &e.CachedBytes, &e.CachedRatio,
			&e.JobsWaiting, &e.Attempts, &src, &e.Owner, &e.Reason, &created, &updated, &checked)
		e.State, e.Source = api.TaskState(st), api.Source(src)
		e.CreatedAt, e.UpdatedAt, e.CheckedAt = fromNS(created), fromNS(updated), ptrNS(checked)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: list queue: %w", err)
	}
	if entries == nil {
		entries = []api.QueueEntry{} // JSON [], not null
	}
	return entries, nil
}

// Datasets returns the cache status table, by path: every known dataset with
// its last check, the state of its task and the jobs linked to that task.
func (s *Store) Datasets(ctx context.Context) (_ []api.Dataset, err error) {
	defer s.done(time.Now(), &err)
	rows, err := s.r.QueryContext(ctx, `SELECT d.path, d.bytes, d.files, d.cached_bytes, d.cached_ratio, d.checked_at,
			d.ratio_method, d.ratio_bound, d.ratio_sample, d.last_used_at, coalesce(t.state, ''), coalesce(c.running, 0), coalesce(c.queued, 0),
			d.stale_at, coalesce(d.stale_reason, ''), d.stale_detail
		FROM datasets d LEFT JOIN tasks t ON t.dataset_id = d.id
		LEFT JOIN (SELECT jt.task_id,
				count(DISTINCT CASE WHEN j.state = ?1 THEN j.id END) AS running,
				count(DISTINCT CASE WHEN j.state = ?2 THEN j.id END) AS queued
			FROM jobs j JOIN job_tasks jt ON jt.job_id = j.id
			WHERE j.state IN (?1, ?2) GROUP BY jt.task_id) c ON c.task_id = t.id
		ORDER BY d.path`,
		string(api.JobStarted), string(api.JobSubmitted))
	out, err := readAll(rows, err, func(rows *sql.Rows, d *api.Dataset) error {
		var checked, used, stale sql.NullInt64
		var st, method, reason string
		err := rows.Scan(&d.Path, &d.Bytes, &d.Files, &d.CachedBytes, &d.CachedRatio, &checked, &method, &d.RatioBound, &d.RatioSample,
			&used, &st, &d.JobsRunning, &d.JobsQueued, &stale, &reason, &d.StaleDetail)
		d.CheckedAt, d.LastUsedAt, d.State = ptrNS(checked), ptrNS(used), api.TaskState(st)
		d.StaleAt, d.StaleReason = ptrNS(stale), api.StaleReason(reason)
		if checked.Valid {
			d.RatioMethod = api.RatioMethod(method)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: list datasets: %w", err)
	}
	if out == nil {
		out = []api.Dataset{} // JSON [], not null
	}
	return out, s.fillAccess(ctx, out)
}

// Counts returns how many tasks are in each state (every state is present,
// zero when none).
func (s *Store) Counts(ctx context.Context) (_ map[api.TaskState]int, err error) {
	defer s.done(time.Now(), &err)
	counts := map[api.TaskState]int{}
	for _, st := range api.TaskStates {
		counts[st] = 0
	}
	rows, err := s.r.QueryContext(ctx, `SELECT state, count(*) FROM tasks GROUP BY state`)
	type count struct {
		st string
		n  int
	}
	list, err := readAll(rows, err, func(rows *sql.Rows, c *count) error { return rows.Scan(&c.st, &c.n) })
	if err != nil {
		return nil, fmt.Errorf("queue: count tasks: %w", err)
	}
	for _, c := range list {
		counts[api.TaskState(c.st)] = c.n
	}
	return counts, nil
}
