package scheduler

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/shard"
)

// writeTree makes files (path relative to the returned root -> size).
func writeTree(t *testing.T, files map[string]int) string {
	t.Helper()
	root := t.TempDir()
	for p, n := range files {
		full := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, make([]byte, n), 0o644))
	}
	return root
}

// The first part is the files in directory order up to the one at which the
// share of bytes is reached; nothing when it would be all of the dataset.
func TestFirstPartIsTheFirstShareOfBytesInDirectoryOrder(t *testing.T) {
	root := writeTree(t, map[string]int{"b/2": 100, "a/10": 100, "a/9": 300, "c": 300, "b/1": 200})
	in := func(ps ...string) []string {
		for i, p := range ps {
			ps[i] = filepath.Join(root, p)
		}
		return ps
	}
	for _, c := range []struct {
		ratio float64
		want  []string
	}{
		{0.1, in("a/10")},               // 100 of 1000 bytes
		{0.25, in("a/10", "a/9")},       // 250: a/9 crosses it
		{0.4, in("a/10", "a/9")},        // exactly 400
		{0.5, in("a/10", "a/9", "b/1")}, // 600
		{0.75, nil},                     // c would be needed: the whole dataset
	} {
		got, note := firstPart(plan(root), c.ratio)
		require.Equal(t, c.want, got, "ratio %v", c.ratio)
		if got != nil {
			require.Contains(t, note, "of 5 files")
		}
	}
	got, _ := firstPart(plan(filepath.Join(root, "c")), 0.25)
	require.Nil(t, got, "a file is warmed at once")
	got, _ = firstPart(plan(writeTree(t, map[string]int{"a": 0, "b": 0})), 0.25)
	require.Nil(t, got, "no bytes")
	got, _ = firstPart(&shard.Plan{Root: root, Shards: []shard.Shard{{Files: []string{root}}}}, 0.25)
	require.Nil(t, got, "a walk that failed: the dataset as a whole")
}

// Directory order puts a directory's files before a sibling whose name
// extends the directory's ("a/z" before "a.txt"), as filepath.WalkDir does;
// the part is cut from the plan's list, the dataset is not walked again.
func TestFirstPartFollowsWalkDirOrder(t *testing.T) {
	root := writeTree(t, map[string]int{"a.txt": 100, "a/z": 100, "a-b/c": 100, "b": 100})
	var want []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			want = append(want, p)
		}
		return err
	}))
	p := plan(root)
	require.NoError(t, os.RemoveAll(root)) // the first part is cut from the plan: no walk of its own
	got, _ := firstPart(p, 0.75)
	require.Equal(t, want[:3], got)
}

// With ReleaseAt the first part is cut from the plan's one walk: a
// warm-up walks its dataset once in all (dataset_walks_total{kind="list"}),
// and its checks are those of the first part and of the whole dataset.
func TestReleaseAtWalksTheDatasetOnce(t *testing.T) {
	ds := writeTree(t, map[string]int{"0": 10, "1": 10, "2": 10, "3": 10, "d/4": 10, "d/5": 10, "d/6": 10, "d/7": 10})
	r := newRig(t, newDriver(0, gib, 1), Config{ReleaseAt: 0.25})
	m := metrics.New(r.store, r.clk.Now)
	r.s.cfg.Metrics = m
	id := r.submit(ds)
	r.attempt()
	require.Equal(t, api.TaskWarm, r.entry(id).State)
	require.LessOrEqual(t, m.Value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkList}), 1.0, "walks per warm-up")
	require.Equal(t, 1.0, m.Value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkList}))
	require.Equal(t, 2.0, m.Value("accel_data_dataset_walks_total", map[string]string{"kind": metrics.WalkCheck}), "--check of the first part, then of the dataset")
	requireFirstThenAll(t, r.drv.warmed, []string{filepath.Join(ds, "0"), filepath.Join(ds, "1")}, ds)
}

// plan is the one walk of root, cut into shards.
func plan(root string) *shard.Plan {
	p, err := shard.Make(context.Background(), root, 0, 1)
	if err != nil {
		return &shard.Plan{Root: root}
	}
	return p
}

// With ReleaseAt a warm-up warms the first quarter, then the whole dataset;
// once the quarter is verified warm a job waiting for the dataset is ready
// (release-at) while the rest still warms.
func TestReleaseAtMakesWaitingJobsReadyWhenTheFirstPartIsWarm(t *testing.T) {
	ds := writeTree(t, map[string]int{"0": 10, "1": 10, "2": 10, "3": 10})
	drv := newDriver(0, gib, 1)
	drv.block, drv.blockAt = true, 2 // the first part warms, the whole dataset runs until stopped
	r := newRig(t, drv, Config{ReleaseAt: 0.25})
	ctx := context.Background()
	_, err := r.store.Submit(ctx, queue.SubmitParams{Paths: []string{ds}, UID: 1000, Token: "tok", JobID: 7, Source: api.SourceSubmit, Now: r.clk.Now()})
	require.NoError(t, err)
	_, err = r.store.JobStart(ctx, 7, queue.JobStartParams{Token: "tok", Node: "n1", UID: 1000, Now: r.clk.Now()})
	require.NoError(t, err)

	task := r.dequeue()
	wctx, cancel := context.WithCancel(ctx)
	done := r.goWork(wctx, task)
	<-drv.started // the first part
	<-drv.started // the whole dataset, blocked
	st, err := r.store.JobStatus(ctx, 7)
	require.NoError(t, err)
	require.Equal(t, api.TaskWarming, st.Datasets[0].State)
	require.True(t, st.Ready, "the job may start: the first quarter is warm")
	require.Equal(t, api.HotReleaseAt, st.Datasets[0].HotPart)
	require.Equal(t, "release-at: first 25 % of bytes: 1 of 4 files, 10 B", r.entry(task.ID).Reason, "swarmup says so")
	cancel()
	<-done
	requireFirstThenAll(t, drv.warmed, []string{filepath.Join(ds, "0")}, ds)
}

// A first part that is not verified warm releases no job: the whole
// dataset decides, as without ReleaseAt.
func TestReleaseAtReleasesNothingUnverified(t *testing.T) {
	ds := writeTree(t, map[string]int{"0": 10, "1": 10, "2": 10, "3": 10})
	drv := newDriver(0, gib, 0.5) // the first part's warm-up leaves half of it cold
	drv.block, drv.blockAt = true, 2
	r := newRig(t, drv, Config{ReleaseAt: 0.25})
	ctx := context.Background()
	_, err := r.store.Submit(ctx, queue.SubmitParams{Paths: []string{ds}, UID: 1000, Token: "tok", JobID: 7, Source: api.SourceSubmit, Now: r.clk.Now()})
	require.NoError(t, err)
	task := r.dequeue()
	wctx, cancel := context.WithCancel(ctx)
	done := r.goWork(wctx, task)
	<-drv.started
	<-drv.started // the whole dataset, blocked
	st, err := r.store.JobStatus(ctx, 7)
	require.NoError(t, err)
	require.Equal(t, api.TaskWarming, st.Datasets[0].State)
	require.False(t, st.Datasets[0].HotReady)
	require.False(t, st.Ready, "what warmupd calls warm must be cached")
	cancel()
	<-done
}

// When both apply, narrowing wins; a dataset without history falls back to
// ReleaseAt.
func TestNarrowingWinsOverReleaseAt(t *testing.T) {
	ds := writeTree(t, map[string]int{"0": 10, "1": 10, "2": 10, "3": 10, "train/x": 10})
	other := writeTree(t, map[string]int{"0": 10, "1": 10, "2": 10, "3": 10})
	narrow := func(_ context.Context, d string) ([]string, string) {
		if d == ds {
			return []string{filepath.Join(ds, "train")}, "1 of 1 subdirectories, 20 % of bytes"
		}
		return nil, ""
	}
	cfg := Config{Narrow: narrow, ReleaseAt: 0.25}
	r := newRig(t, newDriver(0, gib, 1), cfg)
	r.submit(ds)
	r.attempt()
	requireFirstThenAll(t, r.drv.warmed, []string{filepath.Join(ds, "train")}, ds)
	r2 := newRig(t, newDriver(0, gib, 1), cfg)
	r2.submit(other)
	r2.attempt()
	requireFirstThenAll(t, r2.drv.warmed, []string{filepath.Join(other, "0")}, other)
}

// requireFirstThenAll: two warm-ups, the first part first, then the whole
// dataset as the one walk listed it (every regular file under ds: a shard).
func requireFirstThenAll(t *testing.T, warmed [][]string, first []string, ds string) {
	t.Helper()
	var all []string
	require.NoError(t, filepath.WalkDir(ds, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			all = append(all, p)
		}
		return err
	}))
	require.Len(t, warmed, 2, "the first part, then the rest: %v", warmed)
	require.Equal(t, first, warmed[0])
	require.ElementsMatch(t, all, warmed[1])
}
