package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// maxCachedStmts bounds the statement cache (the store's queries are a fixed
// set of literals plus one ancestor lookup per path depth).
const maxCachedStmts = 256

// wtx is a write transaction on the store's one writer connection. It is
// BEGIN IMMEDIATE ... COMMIT issued on that connection, not a *sql.Tx: a
// *sql.Tx carries a cancellable context, and database/sql starts a goroutine
// for every query in one to watch it (Rows.initContextClose), and
// go-sqlite3 one for every statement run with a cancellable context; at
// thousands of submits per second those goroutines and the thread wake-ups
// they cause cost more than the statements (docs/performance-submit.md).
//
// Its statements ignore their context's cancellation for the same reason,
// and because go-sqlite3 turns a cancellation into sqlite3_interrupt on the
// shared connection. The store checks a caller's context before its
// transaction starts instead; writer statements are short.
//
// Statements come from the store's cache of statements prepared on the
// writer connection: go-sqlite3 would otherwise compile every SQL string
// again on each call, which costs more than running it.
type wtx struct {
	s    *Store
	done bool
}

// begin waits for the writer connection (giving up when ctx is done) and
// starts a transaction on it; Commit or Rollback ends it and frees the
// connection.
func (s *Store) begin(ctx context.Context) (*wtx, error) {
	if err := s.acquireWriter(ctx); err != nil {
		return nil, err
	}
	if _, err := s.wc.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		s.releaseWriter()
		return nil, fmt.Errorf("queue: begin transaction: %w", err)
	}
	return &wtx{s: s}, nil
}

// acquireWriter waits for the writer connection to be free, or for ctx;
// errClosed (and not held) once the store has closed it.
func (s *Store) acquireWriter(ctx context.Context) error {
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.heldSince = time.Now()
	if s.wc == nil {
		s.releaseWriter()
		return errClosed
	}
	return nil
}

func (s *Store) releaseWriter() {
	s.busy.Add(int64(time.Since(s.heldSince)))
	<-s.wsem
}

// WriterBusy is how long the writer connection has been held since Open.
// Every write goes through that one connection, one transaction at a time,
// so the rate of WriterBusy is the writer's utilisation (the time it waits
// for a CPU included, so it levels off below 1 on a saturated machine):
// from about 0.7, submissions queue for it (the metric
// accel_data_store_writer_busy_seconds_total, docs/performance-submit.md).
func (s *Store) WriterBusy() time.Duration { return time.Duration(s.busy.Load()) }

// Commit commits the transaction. A failed COMMIT is rolled back, so that
// the connection is never left inside a transaction.
func (tx *wtx) Commit() error {
	if tx.done {
		return sql.ErrTxDone
	}
	defer tx.end()
	if _, err := tx.s.wc.ExecContext(context.Background(), `COMMIT`); err != nil {
		_, _ = tx.s.wc.ExecContext(context.Background(), `ROLLBACK`)
		return err
	}
	return nil
}

// Rollback undoes the transaction; after Commit it does nothing.
func (tx *wtx) Rollback() error {
	if tx.done {
		return sql.ErrTxDone
	}
	defer tx.end()
	_, err := tx.s.wc.ExecContext(context.Background(), `ROLLBACK`)
	return err
}

func (tx *wtx) end() {
	tx.done = true
	tx.s.releaseWriter()
}

// errTxUsedAfterEnd refuses a statement on a transaction already committed
// or rolled back: it would run on the writer connection without holding it.
var errTxUsedAfterEnd = fmt.Errorf("queue: statement on an ended transaction: %w", sql.ErrTxDone)

// stmt returns the cached statement for q, or nil (and asks for q to be
// prepared once the transaction is over, so that a statement that fails to
// compile fails in its transaction, with its error, as it would unprepared).
func (tx *wtx) stmt(q string) *sql.Stmt {
	tx.s.mu.Lock()
	st, ok := tx.s.stmts[q]
	if !ok && len(tx.s.stmts)+len(tx.s.wanted) < maxCachedStmts {
		tx.s.wanted[q] = true
	}
	tx.s.mu.Unlock()
	if !ok {
		return nil
	}
	return st
}

func (tx *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if tx.done {
		return nil, errTxUsedAfterEnd
	}
	ctx = context.WithoutCancel(ctx)
	if st := tx.stmt(q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.s.wc.ExecContext(ctx, q, args...)
}

func (tx *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if tx.done {
		return nil, errTxUsedAfterEnd
	}
	ctx = context.WithoutCancel(ctx)
	if st := tx.stmt(q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.s.wc.QueryContext(ctx, q, args...)
}

func (tx *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if tx.done {
		panic(errTxUsedAfterEnd) // a bug in this package; *sql.Row cannot carry the error
	}
	ctx = context.WithoutCancel(ctx)
	if st := tx.stmt(q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.s.wc.QueryRowContext(ctx, q, args...)
}

// PrepareContext prepares q on the writer connection for repeated use in
// this transaction (bulk inserts); the caller closes it.
func (tx *wtx) PrepareContext(ctx context.Context, q string) (*txStmt, error) {
	if tx.done {
		return nil, errTxUsedAfterEnd
	}
	st, err := tx.s.wc.PrepareContext(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil, err
	}
	return &txStmt{st: st}, nil
}

// txStmt is a statement prepared in a wtx; like the wtx's own statements it
// ignores its context's cancellation.
type txStmt struct{ st *sql.Stmt }

func (t *txStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return t.st.ExecContext(context.WithoutCancel(ctx), args...)
}

func (t *txStmt) Close() error { return t.st.Close() }

// withWriter runs fn with the writer connection to itself, outside any
// transaction (migrations' bookkeeping, the integrity check, backups). Its
// context is fn's to use: these are the writer's only cancellable calls.
func (s *Store) withWriter(fn func(c *sql.Conn) error) error {
	if err := s.acquireWriter(context.Background()); err != nil {
		return err
	}
	defer s.releaseWriter()
	return fn(s.wc)
}

// prepareWanted prepares the statements transactions asked for, when the
// writer connection is free.
func (s *Store) prepareWanted(ctx context.Context) {
	s.mu.Lock()
	var qs []string
	for q := range s.wanted {
		qs = append(qs, q)
	}
	clear(s.wanted)
	s.mu.Unlock()
	if len(qs) == 0 {
		return
	}
	_ = s.withWriter(func(c *sql.Conn) error {
		for _, q := range qs {
			st, err := c.PrepareContext(ctx, q)
			if err != nil {
				s.log.Debug().Err(err).Msg("could not cache statement; it will run unprepared")
				continue
			}
			s.mu.Lock()
			if _, dup := s.stmts[q]; dup {
				_ = st.Close()
			} else {
				s.stmts[q] = st
			}
			s.mu.Unlock()
		}
		return nil
	})
}

// closeStmts closes every cached statement.
func (s *Store) closeStmts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q, st := range s.stmts {
		_ = st.Close()
		delete(s.stmts, q)
	}
}
