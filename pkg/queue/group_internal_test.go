package queue

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// TestGroupCommitIsolatesFailures runs three submissions in one group
// transaction; the middle one writes and then fails. Only its writes are
// undone; a cancelled caller's op does not run.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openTemp(t)
	now := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	sub := func(path string, fail bool) func(context.Context, *wtx) error {
		return func(ctx context.Context, tx *wtx) error {
			if _, err := s.submitTx(ctx, tx, SubmitParams{Paths: []string{path}, UID: 1, Source: api.SourceManual, Now: now}, nil); err != nil {
				return err
			}
			if fail {
				return errors.New("boom")
			}
			return nil
		}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	ops := []*groupOp{
		{ctx: context.Background(), fn: sub("/jfs/a", false)},
		{ctx: context.Background(), fn: sub("/jfs/b", true)},
		{ctx: cancelled, fn: sub("/jfs/d", false)},
		{ctx: context.Background(), fn: sub("/jfs/c", false)},
	}
	errs := s.runGroup(ops)
	require.NoError(t, errs[0])
	require.EqualError(t, errs[1], "boom")
	require.ErrorIs(t, errs[2], context.Canceled)
	require.NoError(t, errs[3])

	es, err := s.Queue(context.Background(), true)
	require.NoError(t, err)
	var paths []string
	for _, e := range es {
		paths = append(paths, e.Dataset)
	}
	require.Equal(t, []string{"/jfs/a", "/jfs/c"}, paths)
	var requests int
	require.NoError(t, s.r.QueryRow(`SELECT count(*) FROM requests`).Scan(&requests))
	require.Equal(t, 2, requests, "the failed op's request row was rolled back too")

	// A lone failing op rolls back alone.
	errs = s.runGroup([]*groupOp{{ctx: context.Background(), fn: sub("/jfs/e", true)}})
	require.EqualError(t, errs[0], "boom")
	counts, err := s.Counts(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, counts[api.TaskQueued])
}

func TestSubmitAfterCloseFails(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "c.db"), zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Submit(context.Background(), SubmitParams{Paths: []string{"/jfs/a"}, Now: time.Now()})
	require.ErrorIs(t, err, errClosed)
}

// TestCloseUnderLoadAnswersEveryone: Close while 16 callers keep
// submitting (leaders handing over to each other): Close returns once the
// groups in flight are committed, every caller is answered (written or
// refused with errClosed, nothing else), and what was acknowledged is in
// the file after reopening.
func TestCloseUnderLoadAnswersEveryone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(path, zerolog.Nop())
	require.NoError(t, err)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		acked  []int64
		closed atomic.Int64
	)
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				resp, err := s.Submit(context.Background(), SubmitParams{Paths: []string{fmt.Sprintf("/jfs/w%02d/d%04d", w, i)},
					UID: 1000, Token: fmt.Sprint(w, "-", i), Source: api.SourceSubmit, Now: time.Now()})
				if errors.Is(err, errClosed) {
					closed.Add(1)
					return
				}
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				acked = append(acked, resp.RequestID)
				mu.Unlock()
			}
		})
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, s.Close())
	wg.Wait()
	require.EqualValues(t, 16, closed.Load(), "every caller ends with errClosed once the store is closed")

	s, err = Open(path, zerolog.Nop())
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, len(acked), requestRows(t, s, "requests"), "every acknowledged submission, and no other, is in the file")
	for _, id := range acked {
		var n int
		require.NoError(t, s.r.QueryRow(`SELECT count(*) FROM requests WHERE id = ?`, id).Scan(&n))
		require.Equal(t, 1, n, "acknowledged request %d", id)
	}
}

// TestGroupPanicAnswersAndFreesTheWriter: an op that panics (a bug) fails
// its whole group with an error instead of killing the leader's goroutine
// with the writer's transaction open; the next submission goes through.
func TestGroupPanicAnswersAndFreesTheWriter(t *testing.T) {
	s := openTemp(t)
	err := s.inGroupTx(context.Background(), func(ctx context.Context, tx *wtx) error { panic("boom") })
	require.ErrorContains(t, err, "panicked")
	_, err = s.Submit(context.Background(), SubmitParams{Paths: []string{"/jfs/after"}, UID: 1, Source: api.SourceManual, Now: time.Now()})
	require.NoError(t, err, "the writer is free and no one leads any more")
}
