package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Submit outcomes, as reported in api.SubmitItem.Outcome.
const (
	OutcomeNew      = "new"      // a task was created or revived
	OutcomeJoined   = "joined"   // the same path already had a queued, warming or warm task
	OutcomeCovered  = "covered"  // a queued or warming ancestor covers the path (a warm one does not: new data under it is not warm)
	OutcomeAbsorbed = "absorbed" // a new task that absorbed queued descendants
)

// SubmitParams is one request to warm paths. Paths are canonical, absolute
// and clean (the caller validates them).
type SubmitParams struct {
	Paths  []string
	UID    uint32
	GID    uint32
	Token  string // binds a later JobStart to this submission; "" for none
	JobID  uint64 // Slurm job id, 0 when unknown
	Source api.Source
	Now    time.Time
}

// Submit records a request and, in one transaction, deduplicates each path
// against the existing tasks: it joins a task for the same path, is covered by
// a queued or warming task for an ancestor, or creates (or revives) a task
// that absorbs queued descendants. A warm ancestor does not cover: data
// written under it since its check is not warm, so the path gets its own task,
// whose first `--check` finds it warm at once or warms it. With a Token or a
// JobID the tasks are linked to that job.
func (s *Store) Submit(ctx context.Context, p SubmitParams) (*api.SubmitResponse, error) {
	if p.Now.IsZero() {
		return nil, errors.New("queue: submit: Now is zero; pass the caller's clock time")
	}
	if p.Source == "" {
		p.Source = api.SourceManual
	}
	if !p.Source.Valid() {
		return nil, fmt.Errorf("queue: submit: unknown source %q; use submit, prolog, manual or active", p.Source)
	}
	for _, pth := range p.Paths {
		if !path.IsAbs(pth) || path.Clean(pth) != pth {
			return nil, fmt.Errorf("queue: submit: path %q is not absolute and clean; canonicalise it before submitting", pth)
		}
	}
	var resp *api.SubmitResponse
	err := s.inGroupTx(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		resp, err = s.submitTx(ctx, tx, p, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// submitTx does Submit inside tx. job is the internal jobs.id to link to; when
// nil, it is found or created from p.Token / p.JobID.
func (s *Store) submitTx(ctx context.Context, tx *wtx, p SubmitParams, job *int64) (*api.SubmitResponse, error) {
	now := ns(p.Now)
	pathsJSON, err := json.Marshal(p.Paths)
	if err != nil {
		return nil, err
	}
	if pathsJSON == nil || string(pathsJSON) == "null" {
		pathsJSON = []byte("[]")
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO requests (uid, gid, token, job_id, source, paths, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.UID, p.GID, p.Token, nullJobID(p.JobID), string(p.Source), string(pathsJSON), now)
	if err != nil {
		return nil, fmt.Errorf("queue: record request: %w", err)
	}
	reqID, _ := res.LastInsertId()
	if job == nil && (p.Token != "" || p.JobID != 0) {
		id, err := upsertJob(ctx, tx, p.Token, p.JobID, p.UID, now)
		if err != nil {
			return nil, err
		}
		job = &id
	}

	// Ancestors first, so a request naming /a and /a/b gives one task for /a.
	order := make([]int, len(p.Paths))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(p.Paths[order[a]]) < len(p.Paths[order[b]]) })

	items := make([]api.SubmitItem, len(p.Paths))
	for _, i := range order {
		it, err := s.submitPath(ctx, tx, p, p.Paths[i], now)
		if err != nil {
			return nil, err
		}
		if err := addClaim(ctx, tx, it.TaskID, it.Path, p, job, reqID, now); err != nil {
			return nil, err
		}
		if job != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO job_tasks (job_id, task_id, path) VALUES (?, ?, ?)
				ON CONFLICT (job_id, path) DO UPDATE SET task_id = excluded.task_id`, *job, it.TaskID, it.Path); err != nil {
				return nil, fmt.Errorf("queue: link job to task %d: %w", it.TaskID, err)
			}
		}
		items[i] = it
	}
	return &api.SubmitResponse{RequestID: reqID, Items: items}, nil
}

// submitPath resolves one path to a task (see Submit).
func (s *Store) submitPath(ctx context.Context, tx *wtx, p SubmitParams, pth string, now int64) (api.SubmitItem, error) {
	it := api.SubmitItem{Path: pth, Dataset: pth}
	l, err := lookupLineage(ctx, tx, pth)
	if err != nil {
		return it, err
	}
	dsID, taskID, state := l.dsID, l.taskID, l.state
	if taskID.Valid && isActive(state) {
		it.TaskID, it.State, it.Outcome = taskID.Int64, state, OutcomeJoined
		return it, nil
	}

	// Covered by an ancestor being warmed?
	if l.anc != "" {
		it.Dataset, it.TaskID, it.State, it.Outcome = l.anc, l.ancTask, l.ancState, OutcomeCovered
		return it, nil
	}

	o := taskOwner{source: p.Source, uid: int64(p.UID)}
	if taskID.Valid {
		// Revive a terminal task in place: a fresh start with a fresh attempt
		// budget; the requests it fulfilled are dropped, its live jobs' stay.
		if err := reviveTx(ctx, tx, taskID.Int64, "", &o, now); err != nil {
			return it, fmt.Errorf("queue: %s: %w", pth, err)
		}
	} else if taskID.Int64, err = addTaskTx(ctx, tx, dsID, pth, o, "", now); err != nil {
		return it, err
	}
	it.TaskID, it.State, it.Outcome = taskID.Int64, api.TaskQueued, OutcomeNew

	n, err := absorbQueuedDescendants(ctx, tx, pth, taskID.Int64, now)
	if err != nil {
		return it, err
	}
	if n > 0 {
		it.Outcome = OutcomeAbsorbed
	}
	return it, nil
}

// isActive reports whether a task in state st serves requests for its path.
func isActive(st api.TaskState) bool {
	return st == api.TaskQueued || st == api.TaskWarming || st == api.TaskWarm
}

// parents returns the ancestors of a clean absolute path, nearest first
// (none for a relative one, which the store never holds).
func parents(pth string) []string {
	var ps []string
	for pth != "/" && path.IsAbs(pth) {
		pth = path.Dir(pth)
		ps = append(ps, pth)
	}
	return ps
}

// covers reports whether a task in state st, for an ancestor of a requested
// path, covers that path: only while it is still to be warmed (the warm-up
// will read the path's data). A warm ancestor was checked before the path's
// data may have been written, so it covers nothing.
func covers(st api.TaskState) bool {
	return st == api.TaskQueued || st == api.TaskWarming
}

// lineage is what the store holds for a path and its ancestors: the path's
// own dataset and task (each not Valid when there is none, state then ""),
// and the nearest ancestor whose task covers the path ("" when none does).
type lineage struct {
	dsID, taskID sql.NullInt64
	state        api.TaskState

	anc      string
	ancTask  int64
	ancState api.TaskState
}

// lookupLineage reads pth and all its ancestors in one indexed query (an IN
// list on datasets.path: one statement per path depth, each prepared once)
// rather than one query per parent directory.
func lookupLineage(ctx context.Context, tx *wtx, pth string) (lineage, error) {
	var l lineage
	keys := append([]string{pth}, parents(pth)...)
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := tx.QueryContext(ctx, `SELECT d.path, d.id, t.id, t.state FROM datasets d LEFT JOIN tasks t ON t.dataset_id = d.id
		WHERE d.path IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return l, fmt.Errorf("queue: look up %s and its parents: %w", pth, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p      string
			dsID   int64
			taskID sql.NullInt64
			st     sql.NullString
		)
		if err := rows.Scan(&p, &dsID, &taskID, &st); err != nil {
			return l, fmt.Errorf("queue: look up %s and its parents: %w", pth, err)
		}
		switch {
		case p == pth:
			l.dsID, l.taskID, l.state = sql.NullInt64{Int64: dsID, Valid: true}, taskID, api.TaskState(st.String)
		case taskID.Valid && covers(api.TaskState(st.String)) && len(p) > len(l.anc):
			l.anc, l.ancTask, l.ancState = p, taskID.Int64, api.TaskState(st.String)
		}
	}
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("queue: look up %s and its parents: %w", pth, err)
	}
	return l, nil
}

// descendantRange returns the bounds lo < path < hi that select every path
// strictly below dir (for "/a": "/a/" and "/a0", since '0' follows '/').
func descendantRange(dir string) (lo, hi string) {
	lo = dir
	if !strings.HasSuffix(lo, "/") {
		lo += "/"
	}
	return lo, lo[:len(lo)-1] + "0"
}

// absorbQueuedDescendants moves the job links and claims of every queued
// task below pth to task into, and cancels those tasks. The claims keep
// their paths, so cancelling into later gives them their tasks back (see
// settle). It returns how many it absorbed.
func absorbQueuedDescendants(ctx context.Context, tx *wtx, pth string, into, now int64) (int, error) {
	lo, hi := descendantRange(pth)
	// The path range drives: scanning every queued task through the state
	// index instead would grow with the queue. A subquery per dataset (a
	// dataset has at most one task), not a join: the range is nearly always
	// empty, and the joined statement cost 22–28 µs of the writer's time
	// to find nothing, this one 9–10 (docs/performance-submit.md).
	ids, err := queryIDs(ctx, tx, `SELECT (SELECT t.id FROM tasks t WHERE t.dataset_id = d.id AND t.state = ?3) AS queued_task
		FROM datasets d WHERE d.path > ?1 AND d.path < ?2 AND queued_task IS NOT NULL`, lo, hi, string(api.TaskQueued))
	if err != nil {
		return 0, fmt.Errorf("queue: look up tasks below %s: %w", pth, err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE job_tasks SET task_id = ? WHERE task_id = ?`, into, id); err != nil {
			return 0, fmt.Errorf("queue: move job links of task %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE claims SET task_id = ? WHERE task_id = ?`, into, id); err != nil {
			return 0, fmt.Errorf("queue: move requests of task %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
			string(api.TaskCancelled), "absorbed by "+pth, now, now, id); err != nil {
			return 0, fmt.Errorf("queue: cancel absorbed task %d: %w", id, err)
		}
	}
	return len(ids), nil
}
