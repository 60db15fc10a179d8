// Package queue is warmupd's SQLite store: datasets (the cache status table),
// warm-up tasks (one per canonical dataset path), their attempts, the raw
// requests, Slurm jobs and the links between jobs and the tasks that cover
// their paths.
//
// warmupd is the only process that opens the database. All writes go through
// one connection in BEGIN IMMEDIATE transactions, so concurrent callers queue
// in Go instead of meeting SQLITE_BUSY; reads use a separate pool of
// read-only connections (WAL lets them run beside the writer).
//
// Every time is passed in by the caller (a now parameter) so the scheduler,
// its tests and the simulator can drive the store with their own clock.
// Times are stored as unix nanoseconds.
package queue

import "errors"

var (
	// ErrLeaseLost means the caller no longer holds the task's lease: the task
	// was cancelled, finished, released or reclaimed by another owner after the
	// lease expired. The worker must stop working on it.
	ErrLeaseLost = errors.New("lease lost")
	// ErrNotFound means no task, dataset or job matches.
	ErrNotFound = errors.New("not found")
	// ErrNotOwner means the caller is neither the task's owner nor root.
	ErrNotOwner = errors.New("not the owner")
)
