package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// UseHalfLife is the half-life of a dataset's use_score: each job start adds
// 1, and the score halves for every UseHalfLife without use.
const UseHalfLife = 7 * 24 * time.Hour

// querier is what *sql.DB and *sql.Tx have in common for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// JobStartParams describes a job reaching its prolog.
type JobStartParams struct {
	Token string   // the token of its sbatch-time submission, if any
	Paths []string // its dataset paths (canonical), submitted with source prolog when not yet linked
	Node  string
	UID   uint32
	Now   time.Time
}

// JobStart binds Slurm job jobID to the job submitted with p.Token (or
// creates the job), submits any of p.Paths the job is not yet linked to with
// source prolog, queues again the linked tasks that were evicted since (the
// job needs their data now), marks the job started and, on its first start,
// bumps the last_used_at and use_score of its datasets. It returns the job's
// status.
func (s *Store) JobStart(ctx context.Context, jobID uint64, p JobStartParams) (*api.JobStatus, error) {
	if jobID == 0 {
		return nil, errors.New("queue: job start: job id 0; pass the Slurm job id (SLURM_JOB_ID)")
	}
	if p.Now.IsZero() {
		return nil, errors.New("queue: job start: Now is zero; pass the caller's clock time")
	}
	var st *api.JobStatus
	err := s.inTx(ctx, func(tx *wtx) error {
		now := ns(p.Now)
		id, err := upsertJob(ctx, tx, p.Token, jobID, p.UID, now)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT path FROM job_tasks WHERE job_id = ?`, id)
		paths, err := readAll(rows, err, func(rows *sql.Rows, p *string) error { return rows.Scan(p) })
		if err != nil {
			return fmt.Errorf("queue: job %d: %w", jobID, err)
		}
		linked := map[string]bool{}
		for _, pth := range paths {
			linked[pth] = true
		}
		var missing []string
		for _, pth := range p.Paths {
			if !linked[pth] {
				missing = append(missing, pth)
			}
		}
		if len(missing) > 0 {
			if _, err := s.submitTx(ctx, tx, SubmitParams{Paths: missing, UID: p.UID, Token: p.Token, JobID: jobID,
				Source: api.SourceProlog, Now: p.Now}, &id); err != nil {
				return err
			}
		}
		if err := s.reviveEvictedTx(ctx, tx, id, p.Now); err != nil {
			return fmt.Errorf("queue: job %d: queue evicted data again: %w", jobID, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, started_at = ?, node = ? WHERE id = ? AND state = ?`,
			string(api.JobStarted), now, p.Node, id, string(api.JobSubmitted))
		if err != nil {
			return fmt.Errorf("queue: start job %d: %w", jobID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := bumpUse(ctx, tx, id, p.Now); err != nil {
				return err
			}
		}
		st, err = jobStatus(ctx, tx, jobID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// bumpUse adds one decayed use to every dataset job id links to.
func bumpUse(ctx context.Context, tx *wtx, id int64, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT d.id, d.use_score, d.last_used_at FROM job_tasks jt
		JOIN tasks t ON t.id = jt.task_id JOIN datasets d ON d.id = t.dataset_id WHERE jt.job_id = ?`, id)
	type use struct {
		id    int64
		score float64
	}
	uses, err := readAll(rows, err, func(rows *sql.Rows, u *use) error {
		var last sql.NullInt64
		if err := rows.Scan(&u.id, &u.score, &last); err != nil {
			return err
		}
		u.score = DecayedScore(u.score, fromNullNS(last), now) + 1
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: datasets of job: %w", err)
	}
	for _, u := range uses {
		if _, err := tx.ExecContext(ctx, `UPDATE datasets SET use_score = ?, last_used_at = ? WHERE id = ?`, u.score, ns(now), u.id); err != nil {
			return fmt.Errorf("queue: bump use of dataset %d: %w", u.id, err)
		}
	}
	return nil
}

// DecayedScore is score, last updated at last, as seen at now (halving every
// UseHalfLife). A zero last means no history: the score is returned as is.
func DecayedScore(score float64, last, now time.Time) float64 {
	if last.IsZero() || !now.After(last) {
		return score
	}
	return score * math.Exp2(-float64(now.Sub(last))/float64(UseHalfLife))
}

// JobStatus returns the state of Slurm job jobID and of every dataset it
// needs. ErrNotFound if no job has that id.
func (s *Store) JobStatus(ctx context.Context, jobID uint64) (_ *api.JobStatus, err error) {
	defer s.done(time.Now(), &err)
	return jobStatus(ctx, s.r, jobID)
}

func jobStatus(ctx context.Context, q querier, jobID uint64) (*api.JobStatus, error) {
	var id int64
	var state string
	err := q.QueryRowContext(ctx, `SELECT id, state FROM jobs WHERE job_id = ?`, int64(jobID)).Scan(&id, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("queue: job %d: no such job (it named no datasets, its record was never created, or it ended longer ago than HistoryRetention and was pruned): %w", jobID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: job %d: %w", jobID, err)
	}
	st := &api.JobStatus{JobID: jobID, State: api.JobState(state), Datasets: []api.JobDataset{}}
	// o is the link's own path's row: the dataset itself, or, for a path
	// covered by a parent's task, its own last check (if any).
	rows, err := q.QueryContext(ctx, `SELECT jt.path, d.path, t.state, d.bytes, d.cached_bytes, d.cached_ratio, t.reason,
			o.bytes, o.cached_bytes, o.cached_ratio, o.checked_at, coalesce(o.stale_reason, ''),
			coalesce(t.state = 'warming' AND jt.path = d.path AND t.hot_ready_at >= t.started_at, 0)
		FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id JOIN datasets d ON d.id = t.dataset_id
		LEFT JOIN datasets o ON o.path = jt.path
		WHERE jt.job_id = ? ORDER BY jt.path`, id)
	ds, err := readAll(rows, err, func(rows *sql.Rows, d *api.JobDataset) error {
		var ts string
		var ob, ocb sql.NullInt64
		var or sql.NullFloat64
		var checked sql.NullInt64
		var stale string
		if err := rows.Scan(&d.Path, &d.Dataset, &ts, &d.Bytes, &d.CachedBytes, &d.CachedRatio, &d.Reason, &ob, &ocb, &or, &checked, &stale, &d.HotReady); err != nil {
			return err
		}
		d.State, d.Stale = api.TaskState(ts), api.StaleReason(stale)
		d.CheckedAt = ptrNS(checked)
		if d.HotReady {
			d.HotPart = api.HotPartOf(d.Reason)
		}
		if d.Path != d.Dataset && d.State.Terminal() {
			// The parent's numbers say nothing of this path once its warm-up
			// is over: report the path's own check, or nothing.
			d.Bytes, d.CachedBytes, d.CachedRatio = ob.Int64, ocb.Int64, or.Float64
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue: datasets of job %d: %w", jobID, err)
	}
	st.Datasets = append(st.Datasets, ds...)
	st.Summarize()
	return st, nil
}

// JobEndParams describes a job's epilog (or its end before it started).
type JobEndParams struct {
	Node     string
	ExitCode int
	Reason   string
	Now      time.Time
}

// JobEnd marks Slurm job jobID ended. Its links stay, so the datasets'
// history remains; it no longer counts as waiting. ErrNotFound if unknown.
func (s *Store) JobEnd(ctx context.Context, jobID uint64, p JobEndParams) error {
	if p.Now.IsZero() {
		return errors.New("queue: job end: Now is zero; pass the caller's clock time")
	}
	return s.inTx(ctx, func(tx *wtx) error {
		ended, err := s.endJobTx(ctx, tx, jobID, "", sql.NullInt64{Int64: int64(p.ExitCode), Valid: true}, p)
		if err == nil && !ended {
			err = fmt.Errorf("queue: end job %d: no such job: %w", jobID, ErrNotFound)
		}
		return err
	})
}

// endJobTx marks Slurm job jobID ended, only while it is in state from when
// from is set, with p's reason, time and node (where it had none) and the
// exit code when known, and settles the queued tasks only it wanted (see
// cancelUnneeded). It reports false when no job matched.
func (s *Store) endJobTx(ctx context.Context, tx *wtx, jobID uint64, from api.JobState, exit sql.NullInt64, p JobEndParams) (bool, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `UPDATE jobs SET state = ?1, ended_at = ?2, exit_code = coalesce(?3, exit_code), reason = ?4,
			node = CASE WHEN node = '' THEN ?5 ELSE node END WHERE job_id = ?6 AND (?7 = '' OR state = ?7) RETURNING id`,
		string(api.JobEnded), ns(p.Now), exit, p.Reason, p.Node, int64(jobID), string(from)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("queue: end job %d: %w", jobID, err)
	}
	if err := s.cancelUnneeded(ctx, tx, id, p.Now); err != nil {
		return false, fmt.Errorf("queue: cancel tasks job %d no longer needs: %w", jobID, err)
	}
	return true, nil
}

// cancelUnneeded settles the queued tasks job id (jobs.id) was linked to,
// now that it ended: a task no request or live job wants any more is
// cancelled, and one wanted only for paths below it gives those paths their
// own tasks back (see settle). A warming task finishes; its data may serve
// the next job.
func (s *Store) cancelUnneeded(ctx context.Context, tx *wtx, id int64, now time.Time) error {
	ids, err := queryIDs(ctx, tx, `SELECT DISTINCT jt.task_id FROM job_tasks jt
		JOIN tasks t ON t.id = jt.task_id WHERE jt.job_id = ? AND t.state = ?`, id, string(api.TaskQueued))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := s.settle(ctx, tx, id, "no job needs it any more, nor any request (its jobs ended before it was warmed)", false, now); err != nil {
			return err
		}
	}
	return nil
}

// upsertJob finds the job row for token and/or a Slurm job id, creating it in
// state submitted when there is none, and binds the job id to a token row.
func upsertJob(ctx context.Context, tx *wtx, token string, jobID uint64, uid uint32, now int64) (int64, error) {
	var id int64
	var boundJob sql.NullInt64
	err := sql.ErrNoRows
	if jobID != 0 {
		err = tx.QueryRowContext(ctx, `SELECT id, job_id FROM jobs WHERE job_id = ?`, int64(jobID)).Scan(&id, &boundJob)
	}
	if errors.Is(err, sql.ErrNoRows) && token != "" {
		err = tx.QueryRowContext(ctx, `SELECT id, job_id FROM jobs WHERE token = ?`, token).Scan(&id, &boundJob)
	}
	switch {
	case err == nil:
		if jobID != 0 && boundJob.Valid && uint64(boundJob.Int64) != jobID {
			// The token's submission is already bound to another job: the
			// tasks of an array job (or the components of a heterogeneous
			// one) share one sbatch token. This job gets its own row with
			// the same datasets.
			res, err := tx.ExecContext(ctx, `INSERT INTO jobs (job_id, uid, state, submitted_at) VALUES (?, ?, ?, ?)`,
				int64(jobID), uid, string(api.JobSubmitted), now)
			if err != nil {
				return 0, fmt.Errorf("queue: add job %d sharing token: %w", jobID, err)
			}
			nid, err := res.LastInsertId()
			if err != nil {
				return 0, err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO job_tasks (job_id, task_id, path) SELECT ?, task_id, path FROM job_tasks WHERE job_id = ?`, nid, id); err != nil {
				return 0, fmt.Errorf("queue: link job %d sharing token: %w", jobID, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO claims (task_id, path, uid, source, job_id, request_id, created_at)
				SELECT task_id, path, uid, source, ?, request_id, ? FROM claims WHERE job_id = ?`, nid, now, id); err != nil {
				return 0, fmt.Errorf("queue: link job %d sharing token: %w", jobID, err)
			}
			return nid, nil
		}
		if jobID != 0 && !boundJob.Valid {
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET job_id = ? WHERE id = ?`, int64(jobID), id); err != nil {
				return 0, fmt.Errorf("queue: bind job %d: %w", jobID, err)
			}
			if err := reopenUnboundTx(ctx, tx, id, now); err != nil {
				return 0, fmt.Errorf("queue: bind job %d: %w", jobID, err)
			}
		}
		return id, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("queue: look up job: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs (job_id, token, uid, state, submitted_at) VALUES (?, ?, ?, ?, ?)`,
		nullJobID(jobID), sql.NullString{String: token, Valid: token != ""}, uid, string(api.JobSubmitted), now)
	if err != nil {
		return 0, fmt.Errorf("queue: add job: %w", err)
	}
	return res.LastInsertId()
}

// nullJobID stores Slurm job id 0 (unknown) as NULL.
func nullJobID(id uint64) sql.NullInt64 {
	return sql.NullInt64{Int64: int64(id), Valid: id != 0}
}

// JobsDatasets is, for each of the Slurm jobs ids that warmupd knows, the
// datasets of the tasks it waits for, in one query (jobs it does not know
// are left out).
func (s *Store) JobsDatasets(ctx context.Context, ids []uint64) (_ map[uint64][]string, err error) {
	defer s.done(time.Now(), &err)
	out := map[uint64][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT j.job_id, d.path FROM jobs j
		JOIN job_tasks jt ON jt.job_id = j.id JOIN tasks t ON t.id = jt.task_id JOIN datasets d ON d.id = t.dataset_id
		WHERE j.job_id IN (SELECT value FROM json_each(?)) ORDER BY j.job_id, d.path`, string(b))
	type jobDataset struct {
		job  int64
		path string
	}
	list, err := readAll(rows, err, func(rows *sql.Rows, jd *jobDataset) error { return rows.Scan(&jd.job, &jd.path) })
	if err != nil {
		return nil, fmt.Errorf("queue: datasets of %d jobs: %w", len(ids), err)
	}
	for _, jd := range list {
		id := uint64(jd.job)
		if ds := out[id]; len(ds) == 0 || ds[len(ds)-1] != jd.path {
			out[id] = append(ds, jd.path)
		}
	}
	return out, nil
}
