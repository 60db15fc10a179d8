package jobprogress

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func TestText(t *testing.T) {
	const mib, gib = int64(1 << 20), int64(1 << 30)
	warming := &api.JobStatus{Datasets: []api.JobDataset{
		{State: api.TaskWarming, Bytes: 80 * mib, CachedBytes: 42 * mib, WarmRateBps: float64(38*mib) / 240},
		{State: api.TaskWarm, Bytes: 20 * mib, CachedBytes: 20 * mib},
	}}
	require.Equal(t, "accel-data: 62% warm, ETA 4m", Text(warming), "38 MiB left at 38 MiB per 4 minutes")
	warming.Datasets[0].WarmRateBps = 0
	require.Equal(t, "accel-data: 62% warm", Text(warming), "no ETA while the speed is unknown")
	require.Equal(t, "accel-data: warm-up queued", Text(&api.JobStatus{Datasets: []api.JobDataset{{State: api.TaskQueued}}}))
	warm := &api.JobStatus{Ready: true, Warm: true, Datasets: []api.JobDataset{{State: api.TaskWarm, Bytes: gib, CachedBytes: gib}}}
	require.Equal(t, "accel-data: warm", Text(warm))
	partial := &api.JobStatus{Ready: true, Datasets: []api.JobDataset{{State: api.TaskPartial, Bytes: 10, CachedBytes: 8}}}
	require.Equal(t, "accel-data: 80% warm, settled", Text(partial))
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second: "40s", 1500 * time.Millisecond: "2s", 4 * time.Minute: "4m",
		3*time.Minute + time.Second: "4m", 65 * time.Minute: "1h05m",
	} {
		require.Equal(t, want, ShortDuration(d), "%v", d)
	}
}

// Compose keeps the user's comment and replaces only warmupd's own part.
func TestCompose(t *testing.T) {
	require.Equal(t, "accel-data: 5% warm", Compose("", "accel-data: 5% warm"))
	require.Equal(t, "accel-data: 5% warm", Compose("(null)", "accel-data: 5% warm"))
	require.Equal(t, "user note accel-data: 9% warm", Compose("user note", "accel-data: 9% warm"))
	require.Equal(t, "user note accel-data: 9% warm", Compose("user note accel-data: 5% warm, ETA 2m", "accel-data: 9% warm"))
	require.Equal(t, "accel-data:0011aabb accel-data: warm", Compose("accel-data:0011aabb", "accel-data: warm"), "a token tag is not progress")
}

func TestDue(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	every := 30 * time.Second
	require.True(t, Due(time.Time{}, "", "", "a", t0, every), "first write")
	require.False(t, Due(time.Time{}, "", "a", "a", t0, every), "the job already shows it")
	require.False(t, Due(t0, "a", "a", "b", t0.Add(10*time.Second), every), "rate limited")
	require.True(t, Due(t0, "a", "a", "b", t0.Add(every), every), "after every")
	require.False(t, Due(t0, "b", "x", "b", t0.Add(time.Hour), every), "what we wrote last is still the text")
}

// The writer decides on a real store: rate limited per job with the
// injected clock, nothing for jobs warmupd does not know, a "None" reason
// right after an update keeps a job waiting, and a job that stopped waiting
// is forgotten.
func TestWriterDecides(t *testing.T) {
	ctx := context.Background()
	s, err := queue.Open(filepath.Join(t.TempDir(), "warmupd.db"), zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	now := time.Unix(1_800_000_000, 0)
	_, err = s.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/ds"}, UID: 1000, JobID: 7, Source: api.SourceSubmit, Now: now})
	require.NoError(t, err)
	w := &Writer{Every: 30 * time.Second, Now: func() time.Time { return now }, Log: zerolog.Nop(),
		Status: func(ctx context.Context, id uint64) (*api.JobStatus, error) { return s.JobStatus(ctx, id) }}
	round := func(jobs ...Job) []update {
		todo, seen := w.decide(ctx, jobs, now)
		ok := make([]bool, len(todo))
		for i := range ok {
			ok[i] = true
		}
		w.record(todo, ok, seen, now)
		return todo
	}

	todo := round(Job{JobID: 7, Reason: "BurstBufferStageIn", Comment: "note"}, Job{JobID: 8, Reason: "Prolog"})
	require.Equal(t, []update{{7, "note accel-data: warm-up queued"}}, todo, "job 8 is not warmupd's")
	require.Empty(t, round(Job{JobID: 7, Reason: ReasonNone, Comment: "note accel-data: warm-up queued"}), "just written")
	require.Empty(t, round(Job{JobID: 7, Reason: "BurstBufferStageIn", Comment: "a user changed it"}), "rate limited")
	now = now.Add(30 * time.Second)
	require.Equal(t, []update{{7, "a user changed it accel-data: warm-up queued"}},
		round(Job{JobID: 7, Reason: "BurstBufferStageIn", Comment: "a user changed it"}))
	require.Empty(t, round(Job{JobID: 9, Reason: ReasonNone}), "None alone is not waiting")

	// The job stopped waiting: a final line only when its text changed
	// (here it did not), then it is forgotten; waiting again, it is written
	// at once.
	require.Empty(t, round(), "nothing new to say")
	require.Empty(t, w.last, "forgotten")
	require.Len(t, round(Job{JobID: 7, Reason: "Prolog", Comment: "x"}), 1)
}
