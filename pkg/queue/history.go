package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// DefaultHistoryRetention is how long ended jobs, finished warm-up
// attempts and the requests log are kept (warmupd's --history-retention):
// as long as the jobs' I/O reports.
const DefaultHistoryRetention = AccessRetention

// HistoryPruned counts the rows PruneHistory deleted.
type HistoryPruned struct {
	Jobs     int64 // ended jobs, each with its links to datasets and its claims
	Attempts int64 // finished warm-up attempts
	Requests int64 // rows of the requests log (every submission as received)
}

// pruneBatch bounds the rows one transaction of PruneHistory deletes, so a
// submission waits for at most one batch.
const pruneBatch = 1000

var (
	// pruneJobsSQL deletes at most ?2 jobs that ended before ?1, read off
	// the partial index jobs_ended (migration 0013), named: without
	// statistics SQLite would rather walk every ended job by state. The
	// state is written out (not a parameter), as the index's condition is.
	// A job whose token squeue listed since ?1 stays: later tasks of its
	// array are linked to the datasets from it (upsertJob).
	pruneJobsSQL = `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_ended
		WHERE state = '` + string(api.JobEnded) + `' AND ended_at < ?1 AND coalesce(token_seen_at, 0) < ?1 LIMIT ?2)`
	// pruneAttemptsSQL deletes at most ?2 attempts that finished before ?1,
	// walking the table from rowid ?3 on (each batch goes on where the one
	// before stopped, rather than reading again the attempts that stay).
	// Each task's latest finished attempt stays: the next one is numbered
	// from it, and an open one may be withdrawn (ReleaseLeases).
	pruneAttemptsSQL = `DELETE FROM attempts WHERE rowid IN (SELECT a.rowid FROM attempts a
		WHERE a.rowid > ?3 AND a.finished_at < ?1
			AND a.n < (SELECT max(b.n) FROM attempts b WHERE b.task_id = a.task_id AND b.finished_at IS NOT NULL)
		ORDER BY a.rowid LIMIT ?2) RETURNING rowid`
	// pruneRequestsSQL deletes the requests older than ?1 among the ?2
	// oldest by id (ids grow with time): each batch reads only the head
	// of the log, and the pruning stops at a head with nothing old in it.
	// The newest request always stays: SQLite numbers a new row one past
	// the largest id, so an emptied log would give out ids again (a
	// submission's answer and older claims carry them). No foreign key
	// names a request any more (migration 0014), so a delete costs no
	// look-up in claims.
	pruneRequestsSQL = `DELETE FROM requests WHERE id IN (SELECT id FROM
		(SELECT id, created_at FROM requests ORDER BY id LIMIT ?2) WHERE created_at < ?1)
		AND id < (SELECT max(id) FROM requests)`
)

// PruneHistory deletes the history from before before that decides
// nothing any more: jobs that ended before it, with their links to datasets
// and their claims, the warm-up attempts that finished before it, except
// each task's latest, and the requests log's rows made before it (a claim
// keeps its request's id, which then names no row). Whether data is
// wanted, kept or evicted counts only jobs that have not ended; an ended
// job is read by its own status and I/O report (whose prolog wait it
// gives), by a cancel's message naming who wanted a path, and as the last
// owner of a path's links when a check finds it short with nobody left
// wanting it. Jobs that have not ended, tasks,
// datasets and their cache status are never pruned. It deletes in
// transactions of at most pruneBatch rows until none is left or ctx ends,
// and returns what it deleted.
func (s *Store) PruneHistory(ctx context.Context, before time.Time) (HistoryPruned, error) {
	var out HistoryPruned
	var err error
	if out.Jobs, err = s.pruneBatches(ctx, pruneJobsSQL, before); err != nil {
		return out, fmt.Errorf("queue: prune ended jobs: %w", err)
	}
	for from := int64(0); ; {
		var n int64
		err = s.inTx(ctx, func(tx *wtx) error {
			rows, err := tx.QueryContext(ctx, pruneAttemptsSQL, ns(before), pruneBatch, from)
			ids, err := readAll(rows, err, func(rows *sql.Rows, id *int64) error { return rows.Scan(id) })
			n = int64(len(ids))
			for _, id := range ids {
				from = max(from, id)
			}
			return err
		})
		if err != nil {
			return out, fmt.Errorf("queue: prune finished attempts: %w", err)
		}
		out.Attempts += n
		if n < pruneBatch {
			break
		}
	}
	if out.Requests, err = s.pruneBatches(ctx, pruneRequestsSQL, before); err != nil {
		return out, fmt.Errorf("queue: prune the requests log: %w", err)
	}
	return out, nil
}

// pruneBatches runs q (?1 before, ?2 pruneBatch) in a transaction of its
// own until it deletes nothing, and returns how many rows it deleted.
func (s *Store) pruneBatches(ctx context.Context, q string, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.inTx(ctx, func(tx *wtx) error {
			res, err := tx.ExecContext(ctx, q, ns(before), pruneBatch)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		if err != nil || n == 0 {
			return total, err
		}
		total += n
	}
}
