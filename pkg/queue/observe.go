package queue

import (
	"context"
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

// TopDatasets returns the n largest datasets by size, with their cached
// bytes and ratio from the last --check (the metrics' bounded per-dataset
// series).
func (s *Store) TopDatasets(ctx context.Context, n int) (_ []api.Dataset, err error) {
	defer s.done(time.Now(), &err)
	rows, err := s.r.QueryContext(ctx, `SELECT path, bytes, cached_bytes, cached_ratio FROM datasets
		ORDER BY bytes DESC, path LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("queue: largest datasets: %w", err)
	}
	defer rows.Close()
	var out []api.Dataset
	for rows.Next() {
		var d api.Dataset
		if err := rows.Scan(&d.Path, &d.Bytes, &d.CachedBytes, &d.CachedRatio); err != nil {
			return nil, fmt.Errorf("queue: largest datasets: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
