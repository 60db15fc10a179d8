package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// DefaultHistoryRetention is how long ended jobs and finished warm-up
// attempts are kept (warmupd's --history-retention): as long as the jobs'
// I/O reports.
const DefaultHistoryRetention = AccessRetention

// HistoryPruned counts the rows PruneHistory deleted.
type HistoryPruned struct {
	Jobs     int64 // ended jobs, each with its links to datasets and its claims
	Attempts int64 // finished warm-up attempts
}

// pruneBatch bounds the rows one transaction of PruneHistory deletes, so a
// submission waits for at most one batch.
const pruneBatch = 1000

// Each pruning statement deletes at most ?2 rows from before ?1. The ended
// jobs are read off the partial index jobs_ended (migration 0013), named:
// without statistics SQLite would rather walk every ended job by state. The
// state is written out (not a parameter), as the index's condition is.
var (
	pruneJobsSQL = `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_ended
		WHERE state = '` + string(api.JobEnded) + `' AND ended_at < ?1 LIMIT ?2)`
	// Each task's latest attempt stays: the next one is numbered from it.
	pruneAttemptsSQL = `DELETE FROM attempts WHERE rowid IN (SELECT a.rowid FROM attempts a
		WHERE a.finished_at < ?1 AND a.n < (SELECT max(b.n) FROM attempts b WHERE b.task_id = a.task_id) LIMIT ?2)`
)

// PruneHistory deletes the history from before before that nothing needs:
// jobs that ended before it, with their links to datasets and their claims
// (the datasets' use counts are decayed scores of their own; only the job's
// status and report read an ended job), and the warm-up attempts that
// finished before it, except each task's latest. Jobs that have not ended,
// tasks, datasets and their cache status are never pruned. It deletes in
// transactions of at most pruneBatch rows until none is left or ctx ends,
// and returns what it deleted.
func (s *Store) PruneHistory(ctx context.Context, before time.Time) (HistoryPruned, error) {
	var out HistoryPruned
	for _, p := range []struct {
		what, sql string
		n         *int64
	}{{"ended jobs", pruneJobsSQL, &out.Jobs}, {"finished attempts", pruneAttemptsSQL, &out.Attempts}} {
		for {
			var n int64
			err := s.inTx(ctx, func(tx *wtx) error {
				res, err := tx.ExecContext(ctx, p.sql, ns(before), pruneBatch)
				if err == nil {
					n, err = res.RowsAffected()
				}
				return err
			})
			if err != nil {
				return out, fmt.Errorf("queue: prune %s: %w", p.what, err)
			}
			*p.n += n
			if n < pruneBatch {
				break
			}
		}
	}
	return out, nil
}
