package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxGroup bounds how many submissions share one transaction.
const maxGroup = 64

// errClosed is returned to callers that arrive after Close.
var errClosed = errors.New("queue: store is closed; warmupd is shutting down")

// groupOp is one caller's work waiting for a group commit.
type groupOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *wtx) error
	done chan error
}

// groupQueue holds the submissions waiting for a group commit. There is no
// writer goroutine: the first caller to arrive while none leads becomes the
// leader and runs groups on its own goroutine (leader/follower group commit,
// as LevelDB's writer queue), so a lone submission costs no hand-off to
// another goroutine and back (each a thread wake-up: measured as the largest
// share of warmupd's CPU per request, docs/performance-submit.md). Callers
// that arrive while a group runs wait to be answered, and form the next
// group.
type groupQueue struct {
	mu      sync.Mutex
	idle    sync.Cond // broadcast when leading ends (Close waits for it)
	pending []*groupOp
	leading bool
	closed  bool
}

// errLead, sent to a waiting caller, makes it the leader: the previous one
// has its own answer and hands the rest of the queue over, so that no caller
// runs other people's groups for longer than it takes to reach its own.
var errLead = errors.New("queue: lead the group commit")

// inGroupTx runs fn in a transaction shared with whatever other callers are
// waiting at the same moment (group commit): one BEGIN/COMMIT serves them
// all, and an error undoes only its own caller's writes (see runGroup). A
// lone caller gets a transaction of its own at once, on its own goroutine.
//
// fn gets a context that is never cancelled: its statements share one
// connection with other callers', and go-sqlite3 turns a cancellation into
// sqlite3_interrupt, which could hit a neighbour's statement. The caller's
// ctx is checked before its turn instead.
func (s *Store) inGroupTx(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) (err error) {
	defer s.timed(time.Now(), &err)
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &groupOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g := &s.group
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.pending = append(g.pending, op)
	if g.leading {
		g.mu.Unlock()
		if err := <-op.done; err != errLead {
			return err
		}
		g.mu.Lock() // handed over: leading stays true
	} else {
		g.leading = true
	}
	for {
		n := min(len(g.pending), maxGroup)
		batch := g.pending[:n:n]
		if g.pending = g.pending[n:]; len(g.pending) == 0 {
			g.pending = nil
		}
		g.mu.Unlock()
		errs := s.runGroup(batch)
		mine := false
		for i, o := range batch {
			s.noteDamage(&errs[i])
			if o == op {
				mine, err = true, errs[i]
			} else {
				o.done <- errs[i]
			}
		}
		g.mu.Lock()
		if mine {
			break
		}
	}
	if len(g.pending) > 0 {
		g.pending[0].done <- errLead
	} else {
		g.leading = false
		g.idle.Broadcast()
	}
	g.mu.Unlock()
	return err
}

// closeGroups refuses new submissions and waits for the groups in flight
// (and those already waiting) to be committed.
func (s *Store) closeGroups() {
	g := &s.group
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.leading {
		g.idle.Wait()
	}
}

// runGroup runs ops in one transaction and returns each op's error. A lone
// op gets the transaction to itself. Several run first one after the other
// with no savepoint (savepoints make SQLite copy every page an op changes to
// a sub-journal, the dearest part of a group); only when one of them fails
// is the transaction rolled back and the group run again with each op in its
// own savepoint, so that an error undoes only that op's writes. A failed
// commit fails every op that had succeeded.
func (s *Store) runGroup(ops []*groupOp) (errs []error) {
	ctx := context.Background() // one caller's cancellation must not abort the others
	errs = make([]error, len(ops))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	w, err := s.beginGroup(ctx)
	if err != nil {
		return fail(err)
	}
	// A panic in one op (a bug) must not leave the writer connection in an
	// open transaction, nor the group's leader forever leading (net/http
	// recovers the handler that led): the group is rolled back and every
	// op in it gets the error.
	defer func() {
		if p := recover(); p != nil {
			_ = w.Rollback()
			for i := range errs {
				errs[i] = fmt.Errorf("queue: a submission of this group panicked, nothing of the group was written: %v", p)
			}
		}
	}()
	if !runAll(ctx, w, ops, errs) {
		_ = w.Rollback()
		if len(ops) == 1 {
			return errs
		}
		if w, err = s.beginGroup(ctx); err != nil {
			return fail(err)
		}
		clear(errs)
		if err := runSavepoints(ctx, w, ops, errs); err != nil {
			_ = w.Rollback()
			return fail(err)
		}
	}
	if err := w.Commit(); err != nil {
		return fail(fmt.Errorf("queue: commit: %w", err))
	}
	s.prepareWanted(ctx)
	return errs
}

// beginGroup starts a group's transaction on the writer connection.
func (s *Store) beginGroup(ctx context.Context) (*wtx, error) {
	return s.begin(ctx)
}

// runAll runs ops in w one after the other, recording each one's error in
// errs (a caller whose context is done is skipped with its error), and
// stops at the first op that fails, returning false.
func runAll(ctx context.Context, w *wtx, ops []*groupOp, errs []error) bool {
	for i, op := range ops {
		if errs[i] = op.ctx.Err(); errs[i] != nil {
			continue
		}
		if errs[i] = op.fn(ctx, w); errs[i] != nil {
			return false
		}
	}
	return true
}

// runSavepoints runs each op in its own savepoint of w, recording its error
// in errs; the returned error means the transaction itself is broken.
func runSavepoints(ctx context.Context, w *wtx, ops []*groupOp, errs []error) error {
	for i, op := range ops {
		if errs[i] = op.ctx.Err(); errs[i] != nil {
			continue
		}
		if _, err := w.ExecContext(ctx, `SAVEPOINT op`); err != nil {
			return fmt.Errorf("queue: savepoint: %w", err)
		}
		if errs[i] = op.fn(ctx, w); errs[i] != nil {
			if _, err := w.ExecContext(ctx, `ROLLBACK TO op`); err != nil {
				return fmt.Errorf("queue: roll back one request: %w", err)
			}
		}
		if _, err := w.ExecContext(ctx, `RELEASE op`); err != nil {
			return fmt.Errorf("queue: release savepoint: %w", err)
		}
	}
	return nil
}
