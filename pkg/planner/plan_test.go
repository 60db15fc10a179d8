package planner

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/stretchr/testify/require"
)

const GiB = int64(1) << 30

var t0 = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

func startIDs(d Decision) []int64 {
	var out []int64
	for _, s := range d.Starts {
		out = append(out, s.ID)
	}
	return out
}

func evictIDs(d Decision) []int64 {
	var out []int64
	for _, e := range d.Evictions {
		out = append(out, e.ID)
	}
	return out
}

func TestNeededDatasetIsNeverEvicted(t *testing.T) {
	ds := []Dataset{
		{ID: 1, Path: "/jfs/running", Bytes: 40 * GiB, CachedBytes: 40 * GiB, State: api.TaskWarm, RunningJobs: 1},
		{ID: 2, Path: "/jfs/pending", Bytes: 40 * GiB, CachedBytes: 40 * GiB, State: api.TaskWarm, PendingStarts: []time.Time{t0.Add(time.Hour)}},
		{ID: 3, Path: "/jfs/idle", Bytes: 12 * GiB, CachedBytes: 12 * GiB, State: api.TaskWarm, History: 3},
		{ID: 4, Path: "/jfs/new", Bytes: 40 * GiB, State: api.TaskQueued, QueuedSince: t0, PendingStarts: []time.Time{t0.Add(10 * time.Minute)}},
	}
	s := Snapshot{Datasets: ds, CapacityBytes: 100 * GiB, UsedBytes: 92 * GiB, FreeSlots: 4}
	d := Plan(s, DefaultConfig(), t0)
	require.Empty(t, d.Starts)
	require.Empty(t, d.Evictions, "only 12 GiB nobody needs; evicting it does not make room, evicting 1 or 2 is forbidden")
	require.Len(t, d.Waits, 1)
	require.Equal(t, "waiting for cache space: needs 40.0 GiB, 8.0 GiB free, 12.0 GiB evictable", d.Waits[0].Reason)

	// A 15 GiB dataset fits once the idle one goes: exactly that one is evicted.
	ds[3].Bytes = 15 * GiB
	d = Plan(s, DefaultConfig(), t0)
	require.Equal(t, []int64{3}, evictIDs(d))
	require.Contains(t, d.Evictions[0].Reason, "no job needs it")
	require.Equal(t, []int64{4}, startIDs(d))
}

func TestEvictsLowestValueFirst(t *testing.T) {
	ds := []Dataset{
		{ID: 1, Path: "/jfs/popular", Bytes: 10 * GiB, CachedBytes: 10 * GiB, State: api.TaskWarm, History: 9},
		{ID: 2, Path: "/jfs/old", Bytes: 10 * GiB, CachedBytes: 10 * GiB, State: api.TaskWarm, History: 1, LastUsed: t0.Add(-48 * time.Hour)},
		{ID: 3, Path: "/jfs/recent", Bytes: 10 * GiB, CachedBytes: 10 * GiB, State: api.TaskWarm, History: 1, LastUsed: t0.Add(-time.Hour)},
		{ID: 4, Path: "/jfs/new", Bytes: 15 * GiB, State: api.TaskQueued, QueuedSince: t0},
	}
	d := Plan(Snapshot{Datasets: ds, CapacityBytes: 35 * GiB, UsedBytes: 30 * GiB, FreeSlots: 1}, DefaultConfig(), t0)
	require.Equal(t, []int64{2}, evictIDs(d), "least history, then least recently used; no more than needed")
	require.Equal(t, []int64{4}, startIDs(d))
}

func TestWarmDatasetIsNotRewarmed(t *testing.T) {
	ds := []Dataset{
		{ID: 1, Path: "/jfs/warm", Bytes: 10 * GiB, CachedBytes: 10 * GiB, State: api.TaskQueued, QueuedSince: t0, PrologWaiting: 1},
		{ID: 2, Path: "/jfs/almost", Bytes: 100 * GiB, CachedBytes: 99*GiB + GiB/2, State: api.TaskQueued, QueuedSince: t0},
		{ID: 3, Path: "/jfs/half", Bytes: 10 * GiB, CachedBytes: 5 * GiB, State: api.TaskQueued, QueuedSince: t0},
	}
	d := Plan(Snapshot{Datasets: ds, CapacityBytes: 1000 * GiB, UsedBytes: 115 * GiB, FreeSlots: 4}, DefaultConfig(), t0)
	require.Equal(t, []int64{1, 2}, d.MarkWarm)
	require.Equal(t, []int64{3}, startIDs(d))
	require.Equal(t, 5*GiB, d.Starts[0].Bytes, "only the missing bytes count")
}

func TestUrgentPrologOvertakesLargeQueued(t *testing.T) {
	ds := []Dataset{
		{ID: 1, Path: "/jfs/big", Bytes: 5 << 40, State: api.TaskQueued, QueuedSince: t0.Add(-5 * time.Hour),
			PendingStarts: []time.Time{t0.Add(time.Hour), t0.Add(time.Hour), t0.Add(2 * time.Hour)}, History: 30},
		{ID: 2, Path: "/jfs/urgent", Bytes: 200 * GiB, State: api.TaskQueued, QueuedSince: t0, PrologWaiting: 1},
	}
	d := Plan(Snapshot{Datasets: ds, CapacityBytes: 100 << 40, FreeSlots: 1}, DefaultConfig(), t0)
	require.Equal(t, []int64{2}, startIDs(d))
	require.Equal(t, int64(2), d.Priorities[0].ID)
	require.Equal(t, "waiting for a free warm-up worker", d.Waits[0].Reason, "no priority in it: it is its own column, and the reason would change whenever the priority does")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestNothingStarvesBehindSmallerTasks(t *testing.T) {
	// An old big task blocked on space holds back younger tasks that would
	// take the space it is waiting for.
	ds := []Dataset{
		{ID: 1, Path: "/jfs/running", Bytes: 60 * GiB, CachedBytes: 60 * GiB, State: api.TaskWarm, RunningJobs: 1},
		{ID: 2, Path: "/jfs/old-big", Bytes: 50 * GiB, State: api.TaskQueued, QueuedSince: t0.Add(-7 * 24 * time.Hour), PendingStarts: []time.Time{{}}},
		{ID: 3, Path: "/jfs/young-small", Bytes: 5 * GiB, State: api.TaskQueued, QueuedSince: t0, PendingStarts: []time.Time{{}}},
	}
	s := Snapshot{Datasets: ds, CapacityBytes: 100 * GiB, UsedBytes: 60 * GiB, FreeSlots: 2}
	d := Plan(s, DefaultConfig(), t0)
	require.Equal(t, int64(2), d.Priorities[0].ID, "age lifts the old task to the top")
	require.Empty(t, d.Starts)
	require.Contains(t, d.Waits[1].Reason, "held behind /jfs/old-big, which has waited 168h0m0s for cache space")

	// When the running job ends and its dataset becomes evictable, the old one goes first.
	ds[0].RunningJobs = 0
	d = Plan(s, DefaultConfig(), t0)
	require.Equal(t, []int64{2, 3}, startIDs(d))
	require.Equal(t, []int64{1}, evictIDs(d))
}

func TestThreeDaysOutDoesNotPushOutTenMinutes(t *testing.T) {
	ds := []Dataset{
		// Queued first, far off, bigger history.
		{ID: 1, Path: "/jfs/far", Bytes: 60 * GiB, State: api.TaskQueued, QueuedSince: t0.Add(-2 * time.Hour),
			PendingStarts: []time.Time{t0.Add(72 * time.Hour)}, History: 20},
		{ID: 2, Path: "/jfs/soon", Bytes: 60 * GiB, State: api.TaskQueued, QueuedSince: t0,
			PendingStarts: []time.Time{t0.Add(10 * time.Minute)}},
		{ID: 3, Path: "/jfs/idle", Bytes: 30 * GiB, CachedBytes: 30 * GiB, State: api.TaskWarm},
	}
	s := Snapshot{Datasets: ds, CapacityBytes: 100 * GiB, UsedBytes: 30 * GiB, FreeSlots: 4}
	d := Plan(s, DefaultConfig(), t0)
	require.Equal(t, []int64{2, 1}, []int64{d.Priorities[0].ID, d.Priorities[1].ID})
	require.Equal(t, []int64{2}, startIDs(d))
	require.Empty(t, d.Evictions, "the far dataset never evicts anything")
	require.Contains(t, d.Waits[0].Reason, "deferred: first job expected in 72h0m0s")

	// Even alone in the queue, it only takes room nobody sooner needs, without evicting.
	ds[1].State, ds[1].PendingStarts = api.TaskWarm, nil
	ds[1].CachedBytes = 60 * GiB
	s.UsedBytes = 90 * GiB
	d = Plan(s, DefaultConfig(), t0)
	require.Empty(t, d.Starts)
	require.Empty(t, d.Evictions)

	// Once it is within the horizon it competes normally (and may evict idle data).
	d = Plan(s, DefaultConfig(), t0.Add(61*time.Hour))
	require.Equal(t, []int64{1}, startIDs(d))
	require.Equal(t, []int64{2}, evictIDs(d), "/jfs/soon is no longer needed and is the least valuable")
}

func TestActiveWarmupOnlyInWindowIdleAndUnderBudget(t *testing.T) {
	wins, err := ParseWindows("22:00-06:00")
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.ActiveWindows = wins
	cfg.ActiveBudgetBytes = 100 * GiB
	cfg.ActiveMinHistory = 0.5
	night := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	base := func() []Dataset {
		return []Dataset{
			{ID: 1, Path: "/jfs/hot", Bytes: 60 * GiB, History: 9, State: api.TaskEvicted},
			{ID: 2, Path: "/jfs/warm-ish", Bytes: 30 * GiB, History: 5},
			{ID: 3, Path: "/jfs/cold", Bytes: 10 * GiB, History: 0.6},
			{ID: 7, Path: "/jfs/never-used", Bytes: 1 * GiB, History: 0.1},
			{ID: 4, Path: "/jfs/low", Bytes: 20 * GiB, CachedBytes: 20 * GiB, History: 1, State: api.TaskWarm},
			{ID: 5, Path: "/jfs/needed", Bytes: 20 * GiB, CachedBytes: 20 * GiB, History: 0, State: api.TaskWarm, RunningJobs: 1},
		}
	}
	snap := Snapshot{Datasets: base(), CapacityBytes: 120 * GiB, UsedBytes: 40 * GiB, FreeSlots: 4, ObjectStoreLoad: 0.1}

	d := Plan(snap, cfg, night)
	require.Len(t, d.Active, 3, d.ActiveReason)
	require.Equal(t, []int64{1, 2, 3}, []int64{d.Active[0].ID, d.Active[1].ID, d.Active[2].ID}, "best history first, below ActiveMinHistory never")
	require.Equal(t, api.SourceActive, d.Active[0].Source)
	require.Equal(t, []int64{4}, evictIDs(d), "only the unneeded lower-value dataset makes room")
	var got int64
	for _, a := range d.Active {
		got += a.Bytes
	}
	require.LessOrEqual(t, got, cfg.ActiveBudgetBytes)

	d = Plan(snap, cfg, time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC))
	require.Empty(t, d.Active)
	require.Equal(t, "outside ActiveWindows", d.ActiveReason)

	busy := snap
	busy.ObjectStoreLoad = 0.9
	d = Plan(busy, cfg, night)
	require.Empty(t, d.Active)
	require.Contains(t, d.ActiveReason, "object-storage load 0.90")

	spent := snap
	spent.ActiveBytesUsed = 80 * GiB
	d = Plan(spent, cfg, night)
	require.Equal(t, []int64{3}, []int64{d.Active[0].ID}, "only what fits the 20 GiB left of the budget")

	queued := snap
	queued.Datasets = append(base(), Dataset{ID: 6, Path: "/jfs/q", Bytes: 1 * GiB, State: api.TaskQueued, QueuedSince: night})
	d = Plan(queued, cfg, night)
	require.Empty(t, d.Active)
	require.Equal(t, "1 passive warm-ups queued", d.ActiveReason)
}

func TestParseWindows(t *testing.T) {
	ws, err := ParseWindows(" 22:00-06:00, 12:00-13:30 ")
	require.NoError(t, err)
	require.Equal(t, "22:00-06:00", ws[0].String())
	require.Equal(t, "12:00-13:30", ws[1].String())
	at := func(h, m int) time.Time { return time.Date(2026, 1, 2, h, m, 0, 0, time.UTC) }
	require.True(t, InWindows(ws, at(23, 0)))
	require.True(t, InWindows(ws, at(5, 59)))
	require.False(t, InWindows(ws, at(6, 0)))
	require.True(t, InWindows(ws, at(13, 29)))
	require.False(t, InWindows(ws, at(13, 30)))
	st, ok := WindowStart(ws, at(3, 0))
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC), st)
	_, ok = WindowStart(ws, at(9, 0))
	require.False(t, ok)
	none, err := ParseWindows("")
	require.NoError(t, err)
	require.Empty(t, none)

	for in, want := range map[string]string{
		"22:00":       `"22:00" is not an interval`,
		"25:00-06:00": "hour 25 out of range 0-23",
		"22:60-06:00": "minute 60 out of range 0-59",
		"10pm-6am":    `time "10pm" is not HH:MM`,
		"06:00-06:00": "is empty",
	} {
		_, err := ParseWindows(in)
		require.ErrorContains(t, err, want, in)
		require.ErrorContains(t, err, "ActiveWindows", in)
	}
}

// TestRandomSnapshotsKeepTheGuard checks the invariants on many random
// snapshots: nothing needed is evicted, starts fit in capacity, at most
// FreeSlots start, every queued dataset is started, waits or is marked warm.
func TestRandomSnapshotsKeepTheGuard(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	states := []api.TaskState{"", api.TaskQueued, api.TaskWarming, api.TaskWarm, api.TaskEvicted}
	for iter := 0; iter < 300; iter++ {
		n := 1 + r.IntN(40)
		ds := make([]Dataset, n)
		var used int64
		for i := range ds {
			b := int64(1+r.IntN(100)) * GiB
			x := Dataset{ID: int64(i + 1), Path: "/jfs/d" + itoa(int64(i)), Bytes: b, State: states[r.IntN(len(states))],
				History: r.Float64() * 10, QueuedSince: t0.Add(-time.Duration(r.IntN(20)) * time.Hour), HitRate: -1}
			if r.IntN(2) == 0 {
				x.CachedBytes = r.Int64N(b + 1)
			}
			if r.IntN(4) == 0 {
				x.RunningJobs = 1
			}
			if r.IntN(4) == 0 {
				x.PendingStarts = []time.Time{t0.Add(time.Duration(r.IntN(96)) * time.Hour)}
			}
			if r.IntN(8) == 0 {
				x.PrologWaiting = 1
			}
			used += x.CachedBytes
			ds[i] = x
		}
		s := Snapshot{Datasets: ds, CapacityBytes: used + int64(r.IntN(200))*GiB, UsedBytes: used, FreeSlots: r.IntN(6), ObjectStoreLoad: r.Float64()}
		cfg := DefaultConfig()
		cfg.ActiveWindows = []Window{{0, 0}} // wraps: always open
		cfg.ActiveBudgetBytes = 500 * GiB
		d := Plan(s, cfg, t0)
		byID := map[int64]*Dataset{}
		var inflight int64
		for i := range ds {
			byID[ds[i].ID] = &ds[i]
			if ds[i].State == api.TaskWarming {
				inflight += ds[i].Bytes - ds[i].CachedBytes
			}
		}
		free := s.CapacityBytes - s.UsedBytes
		for _, e := range d.Evictions {
			require.False(t, byID[e.ID].Needed(), "evicted a needed dataset: %+v", *byID[e.ID])
			free += e.Bytes
		}
		var added int64
		for _, st := range append(d.Starts, d.Active...) {
			added += st.Bytes
		}
		if added > 0 {
			require.LessOrEqual(t, added, free-inflight, "iteration %d: starts overflow the cache", iter)
		}
		require.LessOrEqual(t, len(d.Starts)+len(d.Active), s.FreeSlots)
		queued := 0
		for _, x := range ds {
			if x.State == api.TaskQueued {
				queued++
			}
		}
		require.Equal(t, queued, len(d.Starts)+len(d.Waits)+len(d.MarkWarm))
	}
}
