package queue

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Observer receives the latency of each store operation: op is the Store
// method (e.g. "Finish", "Submit"), err its result. warmupd's metrics use it.
type Observer func(op string, took time.Duration, err error)

// Observe sets the observer of the store's operations (nil: none).
func (s *Store) Observe(o Observer) { s.observer.Store(&o) }

// done ends an operation that began at start: it notes a damaged file
// (noteDamage) and reports the operation to the observer.
func (s *Store) done(start time.Time, errp *error) {
	s.noteDamage(errp)
	s.timed(start, errp)
}

// timed reports an operation that began at start to the observer. The
// operation is named after the exported Store method on the caller's stack,
// so the transaction helpers (inTx, inGroupTx) and the reads name it
// without each method repeating its own name.
func (s *Store) timed(start time.Time, errp *error) {
	p := s.observer.Load()
	if p == nil || *p == nil {
		return
	}
	(*p)(callerOp(), time.Since(start), *errp)
}

// callerOp is the nearest exported Store method on the stack ("other"
// when there is none).
func callerOp() string {
	var pcs [16]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs[:])])
	for {
		f, more := frames.Next()
		if _, name, ok := strings.Cut(f.Function, "/queue.(*Store)."); ok && name != "" && name[0] >= 'A' && name[0] <= 'Z' {
			name, _, _ = strings.Cut(name, ".")
			return name
		}
		if !more {
			return "other"
		}
	}
}

// topDatasetsSQL lists the largest sized datasets off the partial index
// datasets_largest (migration 0016), whose condition its WHERE repeats;
// unsizedSQL the datasets never sized (0 bytes; no writer stores less), by
// path, off the index of paths: it runs only when fewer than n are sized,
// when nearly every dataset is unsized and the walk ends early.
const (
	topDatasetsSQL = `SELECT path, bytes, cached_bytes, cached_ratio FROM datasets
	WHERE bytes > 0 ORDER BY bytes DESC, path LIMIT ?`
	unsizedSQL = `SELECT path, bytes, cached_bytes, cached_ratio FROM datasets
	WHERE bytes <= 0 ORDER BY path LIMIT ?`
)

// TopDatasets returns the n largest datasets by size (then by path), with
// their cached bytes and ratio from the last --check (the metrics' bounded
// per-dataset series), without reading every dataset. Both of its reads
// see one snapshot, so a check committed between them neither lists a
// dataset twice nor leaves one out.
func (s *Store) TopDatasets(ctx context.Context, n int) (_ []api.Dataset, err error) {
	defer s.done(time.Now(), &err)
	if n <= 0 {
		return nil, nil
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("queue: largest datasets: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	read := func(q string, n int) ([]api.Dataset, error) {
		rows, err := tx.QueryContext(ctx, q, n)
		out, err := readAll(rows, err, func(rows *sql.Rows, d *api.Dataset) error {
			return rows.Scan(&d.Path, &d.Bytes, &d.CachedBytes, &d.CachedRatio)
		})
		if err != nil {
			return nil, fmt.Errorf("queue: largest datasets: %w", err)
		}
		return out, nil
	}
	out, err := read(topDatasetsSQL, n)
	if err != nil || len(out) >= n {
		return out, err
	}
	more, err := read(unsizedSQL, n-len(out))
	return append(out, more...), err
}
