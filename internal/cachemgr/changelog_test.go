package cachemgr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
)

// fakeChangelog is the changelog watcher's driver (a test double of its
// small Driver interface): scripted changelog entries and inode paths.
type fakeChangelog struct {
	mu      sync.Mutex
	entries []jfs.ChangeEntry
	off     bool
	inodes  map[uint64]string // inode → path relative to the volume root
	froms   []int64
	lookups int
}

func (f *fakeChangelog) Changelog(_ context.Context, _ string, from int64) ([]jfs.ChangeEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.froms = append(f.froms, from)
	if f.off {
		return nil, fmt.Errorf("%w: changelog is not enabled", jfs.ErrChangelogOff)
	}
	var out []jfs.ChangeEntry
	for _, e := range f.entries {
		if e.Ver >= from-1 { // one replayed entry, as a TKV rewind may
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeChangelog) InfoInode(_ context.Context, ino uint64) (string, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	p, ok := f.inodes[ino]
	if !ok {
		return "", 0, errors.New("no such inode")
	}
	return p, 0, nil
}

// entry builds a changelog entry the way `juicefs changelog` prints it.
func entry(t *testing.T, ver int64, at time.Time, op string, args ...any) jfs.ChangeEntry {
	t.Helper()
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = fmt.Sprint(a)
	}
	line := strconv.FormatInt(ver, 10) + ": " + fmt.Sprintf("%d.%09d|%s(%s):1|(1,%d)\n", at.Unix(), at.Nanosecond(), op, strings.Join(s, ","), ver)
	es, err := jfs.ParseChangelog(line)
	require.NoError(t, err)
	return es[0]
}

// Creates, removals, renames and writes under a warm dataset after its last
// check mark it stale with what changed; changes before the check, under no
// warm dataset, or to attributes do not; the cursor moves so an entry is read
// once, and a volume without a changelog is reported as such.
func TestChangelogMarksChangedWarmDatasets(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	r.warm("/jfs/ds", gib)
	r.warm("/jfs/other", gib)
	r.warm("/jfs/quiet", gib)
	drv := &fakeChangelog{inodes: map[uint64]string{10: "ds", 11: "ds/sub", 20: "other", 30: "cold", 40: "quiet", 41: "quiet/f"}}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	drv.entries = []jfs.ChangeEntry{
		entry(t, 5, at(-time.Hour), "CREATE", 11, "early.bin", 0, 0, 1, 420, 18, "", "Keep", "true", 0), // before the check
		entry(t, 6, at(time.Second), "CREATE", 30, "x", 0, 0, 1, 420, 18, "", "Keep", "true", 0),        // no warm dataset
		entry(t, 7, at(2*time.Second), "UNLINK", 11, "old.bin", 0, "false", "true"),
		entry(t, 8, at(3*time.Second), "MOVE", 20, "a", 30, "b", 0, 0, 0, "false"), // out of /jfs/other
		entry(t, 9, at(4*time.Second), "SETATTR", 41, 1, 0, 0, 0, 420, 0, 0, 0, 0, 0, 0, 0, 0),
		entry(t, 10, at(5*time.Second), "WRITE", 999, 0, 0, 1, 4096, 0, 0), // an inode gone since
		entry(t, 11, at(6*time.Second), "CREATE", 11, "new.bin", 0, 0, 1, 420, 18, "", "Keep", "true", 0),
	}
	var told []string
	c := NewChangelog(ChangelogConfig{MetaURL: "redis://:secret@meta:6379/1", Mount: "/jfs"}, r.store, drv, zerolog.New(zerolog.NewTestWriter(t)), r.clk.Now)
	c.Stale = func(p ...string) { told = append(told, p...) }

	res, err := c.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds", "/jfs/other"}, res.Marked)
	require.Equal(t, res.Marked, told)
	require.Equal(t, int64(11), res.Version)
	require.Equal(t, 7, res.Entries)
	require.Equal(t, 6, res.Changes, "SETATTR changes no file set")
	require.Equal(t, 1, res.Unresolved)
	d := r.dataset("/jfs/ds")
	require.Equal(t, api.StaleChangelog, d.StaleReason)
	require.Equal(t, "UNLINK /jfs/ds/sub/old.bin (changelog version 7)", d.StaleDetail, "the first change after the check")
	require.Equal(t, "MOVE /jfs/other/a (changelog version 8)", r.dataset("/jfs/other").StaleDetail)
	require.Nil(t, r.dataset("/jfs/quiet").StaleAt)
	require.Equal(t, []int64{1}, drv.froms)
	require.Equal(t, 4, drv.lookups, "each inode looked up once per read (11, 30, 20, 999; 41 is never needed)")

	res, err = c.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{1, 12}, drv.froms, "from the cursor on")
	require.Zero(t, res.Entries, "a replayed entry is not read twice")
	require.Empty(t, res.Marked)

	drv.off = true
	_, err = c.Read(ctx)
	require.ErrorIs(t, err, jfs.ErrChangelogOff)
	v, err := r.store.ChangelogCursor(ctx, volumeKey(c.cfg.MetaURL))
	require.NoError(t, err)
	require.Equal(t, int64(11), v)
	require.NotContains(t, volumeKey(c.cfg.MetaURL), "secret", "the cursor's key holds no password")
}

// MaxLookups bounds the inodes looked up in one read; the rest count as
// unresolved.
func TestChangelogBoundsLookups(t *testing.T) {
	r := newRig(t, Config{})
	r.warm("/jfs/ds", gib)
	drv := &fakeChangelog{inodes: map[uint64]string{}}
	for i := range 10 {
		ino := uint64(100 + i)
		drv.inodes[ino] = fmt.Sprintf("ds/d%d", i)
		drv.entries = append(drv.entries, entry(t, int64(i+1), t0.Add(time.Second), "CREATE", ino, "f", 0, 0, 1, 420, 18, "", "Keep", "true", 0))
	}
	c := NewChangelog(ChangelogConfig{MetaURL: "sqlite3:///m.db", Mount: "/jfs", MaxLookups: 3}, r.store, drv, zerolog.Nop(), r.clk.Now)
	res, err := c.Read(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3, drv.lookups)
	require.Equal(t, []string{"/jfs/ds"}, res.Marked)
	require.True(t, res.Deferred, "the fourth entry needs a fourth look-up")
	require.Equal(t, int64(3), res.Version, "the cursor stops before the first entry it could not look up")

	// The entries over the bound are not lost: the next reads go on from
	// the cursor, three look-ups at a time, until all ten are read.
	for range 3 {
		res, err = c.Read(context.Background())
		require.NoError(t, err)
	}
	require.False(t, res.Deferred)
	require.Equal(t, int64(10), res.Version)
	require.Equal(t, 10, drv.lookups, "each inode looked up once")
	require.Zero(t, res.Unresolved)
}

// A change under nested warm datasets (a warm /jfs/a and a warm /jfs/a/b:
// a warm ancestor does not cover a new request) marks each of them: the
// outer one holds the changed files too.
func TestChangelogMarksNestedWarmDatasets(t *testing.T) {
	r := newRig(t, Config{})
	r.warm("/jfs/a", gib)
	r.warm("/jfs/a/b", gib)
	drv := &fakeChangelog{inodes: map[uint64]string{10: "a", 11: "a/b"}}
	drv.entries = []jfs.ChangeEntry{entry(t, 1, t0.Add(time.Second), "CREATE", 11, "new.bin", 0, 0, 1, 420, 18, "", "Keep", "true", 0)}
	c := NewChangelog(ChangelogConfig{MetaURL: "sqlite3:///m.db", Mount: "/jfs"}, r.store, drv, zerolog.Nop(), r.clk.Now)
	res, err := c.Read(context.Background())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"/jfs/a", "/jfs/a/b"}, res.Marked)
	require.Equal(t, api.StaleChangelog, r.dataset("/jfs/a").StaleReason)
}

// A change made while a check walked the dataset (after the check began,
// before it ended) marks the dataset stale: the walk may have passed the
// changed directory before the change. A change before the check began
// does not.
func TestChangelogSeesChangesDuringTheCheckWalk(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	r.warm("/jfs/ds", gib)
	r.warm("/jfs/other", gib)
	began, ended := t0.Add(10*time.Second), t0.Add(time.Minute)
	for _, p := range []string{"/jfs/ds", "/jfs/other"} {
		require.NoError(t, r.store.RecordCheck(ctx, p, queue.Check{Files: 1, Bytes: gib, CachedBytes: gib, Ratio: 1, Started: began}, ended))
	}
	drv := &fakeChangelog{inodes: map[uint64]string{10: "ds", 20: "other"}}
	drv.entries = []jfs.ChangeEntry{
		entry(t, 1, t0.Add(5*time.Second), "CREATE", 20, "before.bin", 0, 0, 1, 420, 18, "", "Keep", "true", 0),  // before the check began
		entry(t, 2, t0.Add(30*time.Second), "CREATE", 10, "during.bin", 0, 0, 1, 420, 18, "", "Keep", "true", 0), // during its walk
	}
	c := NewChangelog(ChangelogConfig{MetaURL: "sqlite3:///m.db", Mount: "/jfs"}, r.store, drv, zerolog.Nop(), r.clk.Now)
	res, err := c.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds"}, res.Marked)
	require.Equal(t, "CREATE /jfs/ds/during.bin (changelog version 2)", r.dataset("/jfs/ds").StaleDetail)
	require.Nil(t, r.dataset("/jfs/other").StaleAt)
}

// A change under a dataset that is warming marks it stale too, and the
// mark outlives the warm-up when the warm-up's closing check began before
// the change; a check that began after the change clears it.
func TestChangelogChangeWhileWarmingOutlivesTheWarmUp(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	ids := map[string]int64{}
	for _, p := range []string{"/jfs/w", "/jfs/v"} {
		resp, err := r.store.Submit(ctx, queue.SubmitParams{Paths: []string{p}, Source: api.SourceManual, Now: t0})
		require.NoError(t, err)
		task, err := r.store.Dequeue(ctx, "w", t0, time.Hour)
		require.NoError(t, err)
		require.Equal(t, resp.Items[0].TaskID, task.ID)
		ids[p] = task.ID
	}
	drv := &fakeChangelog{inodes: map[uint64]string{10: "w", 20: "v"}}
	drv.entries = []jfs.ChangeEntry{
		entry(t, 1, t0.Add(3*time.Second), "CREATE", 10, "new.bin", 0, 0, 1, 420, 18, "", "Keep", "true", 0),
		entry(t, 2, t0.Add(3*time.Second), "CREATE", 20, "new.bin", 0, 0, 1, 420, 18, "", "Keep", "true", 0),
	}
	c := NewChangelog(ChangelogConfig{MetaURL: "sqlite3:///m.db", Mount: "/jfs"}, r.store, drv, zerolog.Nop(), r.clk.Now)
	r.clk.Set(t0.Add(30 * time.Second)) // the changelog is read some time after the changes
	res, err := c.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/w", "/jfs/v"}, res.Marked, "warming datasets are watched")
	require.Equal(t, t0.Add(3*time.Second), *r.dataset("/jfs/w").StaleAt, "the event's time is the change's")
	// Progress is counted, not walked: it keeps the mark.
	require.NoError(t, r.store.Progress(ctx, ids["/jfs/w"], "w", queue.Check{Bytes: gib, CachedBytes: gib / 2, Ratio: 0.5, Method: api.RatioInferred}, t0.Add(40*time.Second)))
	require.NotNil(t, r.dataset("/jfs/w").StaleAt, "a progress report is no check")

	finish := func(p string, began time.Time) {
		require.NoError(t, r.store.Finish(ctx, ids[p], "w", queue.Outcome{State: api.TaskWarm,
			Check: &queue.Check{Files: 1, Bytes: gib, CachedBytes: gib, Ratio: 1, Started: began}}, t0.Add(time.Minute)))
	}
	finish("/jfs/w", t0.Add(2*time.Second)) // its check began before the change
	finish("/jfs/v", t0.Add(4*time.Second)) // its check began after it
	require.NotNil(t, r.dataset("/jfs/w").StaleAt, "the check may have missed the change: still stale")
	require.Equal(t, "CREATE /jfs/w/new.bin (changelog version 1)", r.dataset("/jfs/w").StaleDetail)
	require.Nil(t, r.dataset("/jfs/v").StaleAt, "the check saw the change")
}
