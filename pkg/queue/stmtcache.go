package queue

import (
	"context"
	"database/sql"
)

// maxCachedStmts bounds the statement cache (the store's queries are a fixed
// set of literals plus one ancestor lookup per path depth).
const maxCachedStmts = 256

// wtx is a write transaction whose statements come from the store's cache of
// prepared statements: mattn/go-sqlite3 would otherwise compile every SQL
// string again on each call, which costs more than running it.
type wtx struct {
	*sql.Tx
	s *Store
}

// stmt returns the cached statement for q bound to this transaction, or nil
// (and asks for q to be prepared once the transaction is over: preparing now
// would need a second writer connection, and there is only one).
func (tx *wtx) stmt(ctx context.Context, q string) *sql.Stmt {
	tx.s.mu.Lock()
	st, ok := tx.s.stmts[q]
	if !ok && len(tx.s.stmts)+len(tx.s.wanted) < maxCachedStmts {
		tx.s.wanted[q] = true
	}
	tx.s.mu.Unlock()
	if !ok {
		return nil
	}
	return tx.Tx.StmtContext(ctx, st)
}

func (tx *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, q, args...)
}

func (tx *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, q, args...)
}

func (tx *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, q, args...)
}

// prepareWanted prepares the statements transactions asked for. It runs
// outside any transaction, when the writer connection is free.
func (s *Store) prepareWanted(ctx context.Context) {
	s.mu.Lock()
	var qs []string
	for q := range s.wanted {
		qs = append(qs, q)
	}
	clear(s.wanted)
	s.mu.Unlock()
	for _, q := range qs {
		st, err := s.w.PrepareContext(ctx, q)
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
