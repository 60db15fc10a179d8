package queue

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// The tasks of an array job share one sbatch token: each task's prolog
// gets its own job, linked to the same datasets.
func TestArrayTasksShareTheSubmissionToken(t *testing.T) {
	s, err := Open(t.TempDir()+"/q.db", zerolog.Nop())
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	_, err = s.Submit(ctx, SubmitParams{Paths: []string{"/jfs/ds"}, UID: 1000, Token: "tok", Source: api.SourceSubmit, Now: now})
	require.NoError(t, err)
	for _, id := range []uint64{501, 502, 503} {
		st, err := s.JobStart(ctx, id, JobStartParams{Token: "tok", Node: "n1", UID: 1000, Now: now.Add(time.Minute)})
		require.NoError(t, err, "array task %d", id)
		require.Equal(t, id, st.JobID)
		require.Len(t, st.Datasets, 1)
		require.Equal(t, "/jfs/ds", st.Datasets[0].Dataset)
	}
	q, err := s.Queue(ctx, false)
	require.NoError(t, err)
	require.Len(t, q, 1)
	require.Equal(t, 3, q[0].JobsWaiting, "three array tasks wait for one dataset")
	require.NoError(t, s.JobEnd(ctx, 502, JobEndParams{Node: "n1", Now: now.Add(2 * time.Minute)}))
	q, err = s.Queue(ctx, false)
	require.NoError(t, err)
	require.Equal(t, 2, q[0].JobsWaiting)
}
