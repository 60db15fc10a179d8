package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/accel-data/accel-data/internal/bytesize"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// OversizeReason is the one message for a dataset of the given size that is
// larger than the MaxRequestBytes limit of a user's request (said at submit
// time and as the reason of a task the cache manager refused).
func OversizeReason(bytes, limit int64) string {
	return fmt.Sprintf("%s, larger than MaxRequestBytes=%s, the most a user may warm in one request; ask an admin (root) to warm it, or name a smaller part of it",
		bytesize.Format(bytes), bytesize.Format(limit))
}

// exemptClaimSQL is an SQL condition, true when a live claim of root or of
// the daemon's active policy wants task t for its dataset d itself (they are
// exempt from MaxRequestBytes; root's request for a path below, absorbed or
// covered by a user's parent, exempts only that path); parameters number
// ended and active are api.JobEnded and api.SourceActive.
func exemptClaimSQL(ended, active int) string {
	return fmt.Sprintf(`EXISTS (SELECT 1 FROM claims c LEFT JOIN jobs j ON j.id = c.job_id
	WHERE c.task_id = t.id AND c.path = d.path AND (c.job_id IS NULL OR j.state != ?%d) AND (c.uid = 0 OR c.source = ?%d))`, ended, active)
}

// OversizeOf returns the first of paths whose size is known from an earlier
// check (the cache status table) to be above limit, and that a new request
// would make warmupd fetch: its task is not warm or warming, nor queued for
// root or the active policy. It returns "" when none is.
func (s *Store) OversizeOf(ctx context.Context, paths []string, limit int64) (string, int64, error) {
	for _, p := range paths {
		var bytes int64
		var free bool
		err := s.r.QueryRowContext(ctx, `SELECT d.bytes,
				coalesce(t.state IN (?1, ?2) OR (t.state = ?3 AND `+exemptClaimSQL(4, 5)+`), 0)
			FROM datasets d LEFT JOIN tasks t ON t.dataset_id = d.id
			WHERE d.path = ?6 AND d.checked_at IS NOT NULL`,
			string(api.TaskWarm), string(api.TaskWarming), string(api.TaskQueued), string(api.JobEnded), string(api.SourceActive), p).
			Scan(&bytes, &free)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			return "", 0, fmt.Errorf("queue: size of %s: %w", p, err)
		}
		if bytes > limit && !free {
			return p, bytes, nil
		}
	}
	return "", 0, nil
}

// Refused is a task RefuseOversized ended.
type Refused struct {
	TaskID int64
	Path   string
	Bytes  int64
}

// RefuseOversized fails every queued task whose dataset is known to be
// larger than limit and that only users want (no live claim of root or of
// the active policy for the dataset itself), with OversizeReason as its
// reason, so no job waits for a warm-up that will not run. The requests and
// jobs it wanted for paths below (absorbed or covered) get their own tasks
// back, as when a parent is cancelled (see settle).
func (s *Store) RefuseOversized(ctx context.Context, limit int64, now time.Time) ([]Refused, error) {
	// Read first: most rounds refuse nothing, and those take no write lock.
	out, err := oversized(ctx, s.r, limit)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	err = s.inTx(ctx, func(tx *wtx) error {
		if out, err = oversized(ctx, tx, limit); err != nil {
			return err
		}
		for _, r := range out {
			live, err := liveClaims(ctx, tx, r.TaskID)
			if err != nil {
				return err
			}
			if _, err := s.endAndRestore(ctx, tx, r.TaskID, r.Path, api.TaskFailed, OversizeReason(r.Bytes, limit), live, now); err != nil {
				return fmt.Errorf("queue: refuse oversized task %d: %w", r.TaskID, err)
			}
		}
		return nil
	})
	return out, err
}

// oversized lists the queued tasks RefuseOversized ends.
func oversized(ctx context.Context, q querier, limit int64) ([]Refused, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.id, d.path, d.bytes FROM tasks t JOIN datasets d ON d.id = t.dataset_id
		WHERE t.state = ?3 AND d.bytes > ?4 AND d.checked_at IS NOT NULL AND NOT `+exemptClaimSQL(1, 2),
		string(api.JobEnded), string(api.SourceActive), string(api.TaskQueued), limit)
	out, err := readAll(rows, err, func(rows *sql.Rows, r *Refused) error { return rows.Scan(&r.TaskID, &r.Path, &r.Bytes) })
	if err != nil {
		return nil, fmt.Errorf("queue: oversized tasks: %w", err)
	}
	return out, nil
}
