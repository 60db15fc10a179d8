package queue

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// A claim is one request wanting a task for the path it asked for (see
// migrations/0005_claims.sql): a person's `swarmup warm`, a job (the SPANK
// plugin's submission or its prolog), or the daemon's active policy. A task
// lives while it has a live claim; a user's cancel withdraws only that
// user's claims.
type claim struct {
	id     int64
	path   string
	uid    uint32
	source api.Source
}

// liveClaimsSQL selects the live claims of a task: those without a job, and
// those whose job has not ended.
const liveClaimsSQL = `SELECT c.id, c.path, c.uid, c.source FROM claims c LEFT JOIN jobs j ON j.id = c.job_id
	WHERE c.task_id = ?1 AND (c.job_id IS NULL OR j.state != ?2) ORDER BY length(c.path), c.path, c.id`

// addClaim records that a request wants task for pth. A job's request
// (source submit or prolog, job not nil) lasts as long as the job; a
// person's or the active policy's lasts until withdrawn or the task ends.
func addClaim(ctx context.Context, tx *wtx, task int64, pth string, p SubmitParams, job *int64, reqID, now int64) error {
	var j sql.NullInt64
	if job != nil && (p.Source == api.SourceSubmit || p.Source == api.SourceProlog) {
		j = sql.NullInt64{Int64: *job, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO claims (task_id, path, uid, source, job_id, request_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, task, pth, p.UID, string(p.Source), j, reqID, now)
	if err != nil {
		return fmt.Errorf("queue: record the request for %s on task %d: %w", pth, task, err)
	}
	return nil
}

// liveClaims returns the live claims of task, shortest path first.
func liveClaims(ctx context.Context, tx *wtx, task int64) ([]claim, error) {
	rows, err := tx.QueryContext(ctx, liveClaimsSQL, task, string(api.JobEnded))
	out, err := readAll(rows, err, func(rows *sql.Rows, c *claim) error {
		var src string
		err := rows.Scan(&c.id, &c.path, &c.uid, &src)
		c.source = api.Source(src)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: requests for task %d: %w", task, err)
	}
	return out, nil
}

// below reports whether pth lies strictly below dir.
func below(pth, dir string) bool {
	return strings.HasPrefix(pth, strings.TrimSuffix(dir, "/")+"/")
}

// settled is what settle did to a task.
type settled struct {
	cancelled   bool
	stillWanted int              // live claims that keep the task (0 when cancelled)
	restored    []api.SubmitItem // paths below it given their own task back
}

// settle decides the fate of a queued (or, with warming, a warming) task
// after claims were withdrawn or jobs ended: with no live claim left it is
// cancelled with reason why; when every live claim is for a path below the
// task's dataset (requests it absorbed or covered), it is cancelled too and
// each of those paths gets a task of its own back (queued again, claims and
// job links moved), rather than warming the whole parent for them.
// Otherwise the task goes on.
func (s *Store) settle(ctx context.Context, tx *wtx, task int64, why string, warming bool, now time.Time) (settled, error) {
	var out settled
	var dsPath, st string
	if err := tx.QueryRowContext(ctx, `SELECT d.path, t.state FROM tasks t JOIN datasets d ON d.id = t.dataset_id WHERE t.id = ?`, task).
		Scan(&dsPath, &st); err != nil {
		return out, fmt.Errorf("queue: task %d: %w", task, err)
	}
	if api.TaskState(st) != api.TaskQueued && (!warming || api.TaskState(st) != api.TaskWarming) {
		return out, nil
	}
	live, err := liveClaims(ctx, tx, task)
	if err != nil {
		return out, err
	}
	for _, c := range live {
		if !below(c.path, dsPath) {
			out.stillWanted = len(live)
			return out, nil
		}
	}
	if len(live) > 0 {
		why += fmt.Sprintf("; the %d request(s) or job(s) left want only paths below it, which got their own tasks back", len(live))
	}
	out.restored, err = s.endAndRestore(ctx, tx, task, dsPath, api.TaskCancelled, why, live, now)
	out.cancelled = err == nil
	return out, err
}

// endAndRestore ends a queued or warming task of dataset dsPath in state
// (cancelled or failed) with reason why, and gives each path of its live
// claims (live) that lies below dsPath a task of its own back (restore);
// claims for dsPath itself end with the task. settle and RefuseOversized use
// it.
func (s *Store) endAndRestore(ctx context.Context, tx *wtx, task int64, dsPath string, state api.TaskState, why string, live []claim, now time.Time) ([]api.SubmitItem, error) {
	if err := endTask(ctx, tx, task, state, why, now); err != nil {
		return nil, err
	}
	var under []claim
	for _, c := range live {
		if below(c.path, dsPath) {
			under = append(under, c)
		}
	}
	items, err := s.restore(ctx, tx, task, under, now)
	if err != nil {
		return nil, fmt.Errorf("give paths below task %d their own tasks back: %w", task, err)
	}
	return items, nil
}

// endTask ends a queued or warming task in state with reason why: the lease
// goes (the worker's next heartbeat gets ErrLeaseLost) and an open attempt
// is closed.
func endTask(ctx context.Context, tx *wtx, task int64, state api.TaskState, why string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?, lease_owner = NULL, lease_expires_at = NULL,
			reason = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
		string(state), why, ns(now), ns(now), task); err != nil {
		return fmt.Errorf("queue: end task %d (%s): %w", task, state, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE attempts SET finished_at = ?, outcome = ?, error = ? WHERE task_id = ? AND finished_at IS NULL`,
		ns(now), string(state), why, task); err != nil {
		return fmt.Errorf("queue: end task %d (%s): %w", task, state, err)
	}
	return nil
}

// restore gives each path of live (claims on the cancelled task parent, all
// below its dataset) a task again, as a new submission of that path would
// (shortest first, so a restored /a covers a claim for /a/b), and moves the
// path's claims and job links there.
func (s *Store) restore(ctx context.Context, tx *wtx, parent int64, live []claim, now time.Time) ([]api.SubmitItem, error) {
	sort.SliceStable(live, func(i, j int) bool { return len(live[i].path) < len(live[j].path) })
	var out []api.SubmitItem
	done := map[string]bool{}
	for _, c := range live {
		if done[c.path] {
			continue
		}
		done[c.path] = true
		it, err := s.submitPath(ctx, tx, SubmitParams{UID: c.uid, Source: c.source}, c.path, ns(now))
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE claims SET task_id = ? WHERE task_id = ? AND path = ?`, it.TaskID, parent, c.path); err != nil {
			return nil, fmt.Errorf("queue: move requests for %s to task %d: %w", c.path, it.TaskID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE job_tasks SET task_id = ? WHERE task_id = ? AND path = ?`, it.TaskID, parent, c.path); err != nil {
			return nil, fmt.Errorf("queue: move job links for %s to task %d: %w", c.path, it.TaskID, err)
		}
		out = append(out, it)
	}
	return out, nil
}
