package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Upcoming is a path named by a job that has not started yet, whose task is
// warm: what a prolog will soon ask about.
type Upcoming struct {
	Path string
	// ExpectedStart is the soonest expected start of the jobs naming Path
	// (from squeue); zero when unknown.
	ExpectedStart time.Time
	// CheckedAt is when the path's own `--check` last finished (zero: never).
	CheckedAt time.Time
}

// Upcoming lists, soonest first (unknown starts last), at most limit paths
// linked to warm tasks by jobs in state submitted whose expected start is
// unknown or not after until, with their own last check: the data a prolog
// will soon ask about.
func (s *Store) Upcoming(ctx context.Context, until time.Time, limit int) ([]Upcoming, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT jt.path, min(j.expected_start) AS es, d.checked_at
		FROM jobs j JOIN job_tasks jt ON jt.job_id = j.id JOIN tasks t ON t.id = jt.task_id
		LEFT JOIN datasets d ON d.path = jt.path
		WHERE j.state = ?1 AND t.state = ?2 AND (j.expected_start IS NULL OR j.expected_start <= ?3)
		GROUP BY jt.path ORDER BY es IS NULL, es, jt.path LIMIT ?4`,
		string(api.JobSubmitted), string(api.TaskWarm), ns(until), limit)
	out, err := readAll(rows, err, func(rows *sql.Rows, u *Upcoming) error {
		var es, at sql.NullInt64
		err := rows.Scan(&u.Path, &es, &at)
		u.ExpectedStart, u.CheckedAt = fromNullNS(es), fromNullNS(at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: upcoming jobs' data: %w", err)
	}
	return out, nil
}
