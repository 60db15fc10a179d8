package queue_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// TestMixedLoadHasNoBusyErrors runs submitters, workers and readers at once:
// every call must succeed (no SQLITE_BUSY reaches a caller).
func TestMixedLoadHasNoBusyErrors(t *testing.T) {
	s, _ := open(t)
	var wg sync.WaitGroup
	const rounds = 60
	for g := range 3 {
		wg.Add(1)
		go func() { // submitters with jobs
			defer wg.Done()
			for i := range rounds {
				_, err := s.Submit(ctx(), queue.SubmitParams{Paths: []string{fmt.Sprintf("/jfs/p%d/d%d", i%7, i)},
					UID: 1000, JobID: uint64(g*1000 + i + 1), Source: api.SourceSubmit, Now: t0.Add(time.Duration(i) * time.Millisecond)})
				assert.NoError(t, err)
			}
		}()
		wg.Add(1)
		go func() { // workers
			defer wg.Done()
			owner := fmt.Sprint("w", g)
			for i := range rounds {
				now := t0.Add(time.Duration(i) * time.Second)
				task, err := s.Dequeue(ctx(), owner, now, time.Hour)
				if !assert.NoError(t, err) || task == nil {
					continue
				}
				assert.NoError(t, s.Heartbeat(ctx(), task.ID, owner, now, time.Hour))
				assert.NoError(t, s.Finish(ctx(), task.ID, owner, queue.Outcome{State: api.TaskWarm}, now))
			}
		}()
		wg.Add(1)
		go func() { // readers
			defer wg.Done()
			for i := range rounds {
				_, err := s.Queue(ctx(), i%2 == 0)
				assert.NoError(t, err)
				_, err = s.Datasets(ctx())
				assert.NoError(t, err)
				_, err = s.JobStatus(ctx(), uint64(g*1000+1))
				if err != nil {
					assert.ErrorIs(t, err, queue.ErrNotFound)
				}
			}
		}()
	}
	wg.Wait()
	counts, err := s.Counts(ctx())
	require.NoError(t, err)
	total := 0
	for _, n := range counts {
		total += n
	}
	require.Equal(t, rounds, total, "the three submitters name the same paths: one task per path")
}
