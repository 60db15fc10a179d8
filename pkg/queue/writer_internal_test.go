package queue

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// openTemp opens a store in a fresh temporary directory, closed when the
// test ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "warmupd.db"), zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// A transaction whose function panics (a bug) is rolled back and frees the
// writer connection: its write is gone, the next transaction runs, and the
// connection is not left inside a transaction.
func TestPanicInTransactionFreesTheWriter(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	require.PanicsWithValue(t, "bug", func() {
		_ = s.inTx(ctx, func(tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO datasets (path, created_at) VALUES ('/jfs/panicked', 1)`)
			require.NoError(t, err)
			panic("bug")
		})
	})
	done := make(chan error, 1)
	go func() {
		done <- s.inTx(ctx, func(tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO datasets (path, created_at) VALUES ('/jfs/next', 1)`)
			return err
		})
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the writer connection was never freed after the panic")
	}
	var n int
	require.NoError(t, s.r.QueryRowContext(ctx, `SELECT count(*) FROM datasets WHERE path = '/jfs/panicked'`).Scan(&n))
	require.Zero(t, n, "the panicked transaction's write was committed")
	require.NoError(t, s.r.QueryRowContext(ctx, `SELECT count(*) FROM datasets WHERE path = '/jfs/next'`).Scan(&n))
	require.Equal(t, 1, n)
}

// A caller waiting for the writer connection gives up when its context is
// done, as database/sql's BeginTx did; it writes nothing.
func TestWaitForWriterEndsWithContext(t *testing.T) {
	s := openTemp(t)
	require.NoError(t, s.acquireWriter(context.Background())) // someone holds the writer
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := s.inTx(ctx, func(*wtx) error { ran = true; return nil })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, ran)
	s.releaseWriter()
	require.NoError(t, s.inTx(context.Background(), func(*wtx) error { ran = true; return nil }))
	require.True(t, ran)
}

// A statement on a transaction that has ended is refused instead of running
// on the writer connection without holding it.
func TestStatementAfterCommitIsRefused(t *testing.T) {
	s := openTemp(t)
	var kept *wtx
	require.NoError(t, s.inTx(context.Background(), func(tx *wtx) error { kept = tx; return nil }))
	_, err := kept.ExecContext(context.Background(), `DELETE FROM datasets`)
	require.ErrorIs(t, err, errTxUsedAfterEnd)
	require.Error(t, kept.Commit())
}

// WriterBusy adds up the time the writer connection is held, and only that:
// a transaction that holds it 50 ms adds at least 50 ms, an idle writer
// nothing.
func TestWriterBusyCountsTheTimeTheWriterIsHeld(t *testing.T) {
	s := openTemp(t)
	before := s.WriterBusy()
	require.NoError(t, s.inTx(context.Background(), func(tx *wtx) error {
		time.Sleep(50 * time.Millisecond)
		return nil
	}))
	held := s.WriterBusy()
	require.GreaterOrEqual(t, held-before, 50*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, held, s.WriterBusy(), "nothing is counted while nobody holds the writer")
}
