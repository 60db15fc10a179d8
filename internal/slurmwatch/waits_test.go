package slurmwatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/queue"
)

// The watcher remembers which jobs its last poll listed as waiting for their
// data, with the poll's time, from real 22.05 squeue output: a job pending in
// its stage-in; the same job shown with reason None just after warmupd
// rewrote its comment (still waiting, for the same reason); then a listing
// where no job waits.
func TestWatcherRemembersWaitingJobs(t *testing.T) {
	s, err := queue.Open(filepath.Join(t.TempDir(), "warmupd.db"), zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	now := time.Unix(1_800_000_000, 0)
	w := &Watcher{Store: s, Log: zerolog.New(zerolog.NewTestWriter(t)), Now: func() time.Time { return now }}
	require.True(t, w.Waits().At.IsZero(), "no poll yet")
	require.Empty(t, w.Waits().Jobs)

	apply := func(file string, at time.Time) Waits {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", file))
		require.NoError(t, err)
		require.NoError(t, w.Apply(context.Background(), data, at))
		return w.Waits()
	}
	t1 := now.Add(-time.Minute)
	got := apply("squeue-22.05-stagein.json", t1)
	require.Equal(t, Waits{At: t1, Jobs: map[uint64]string{1: "BurstBufferStageIn"}}, got)

	got.Jobs[1] = "changed" // a caller's copy cannot change the watcher's
	t2 := now.Add(-30 * time.Second)
	require.Equal(t, Waits{At: t2, Jobs: map[uint64]string{1: "BurstBufferStageIn"}}, apply("squeue-22.05-stagein-updated.json", t2),
		"reason None right after a comment update keeps the reason of the poll before")

	require.Equal(t, Waits{At: now, Jobs: map[uint64]string{}}, apply("squeue-22.05.json", now), "no job waits for data")
	require.Equal(t, Waits{At: now, Jobs: map[uint64]string{}}, apply("squeue-22.05-stagein-updated.json", now),
		"reason None alone, never seen waiting, is not a wait")
}
