package cachemgr

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
)

func TestCheckDueGrowsWithSize(t *testing.T) {
	base := 10 * time.Minute
	require.Equal(t, base, CheckDue(base, 0))
	require.Equal(t, base, CheckDue(base, 1<<30))
	require.Equal(t, 2*base, CheckDue(base, 2<<30))
	require.Equal(t, 11*base, CheckDue(base, 1<<40), "a 1 TiB dataset is checked 11x less often")
}

// With a capacity, a dataset of unknown size may not start: it waits, says
// why, and is handed to Refresh for a first --check (once).
func TestHoldUnsized(t *testing.T) {
	m := New(Config{CapacityBytes: 1 << 40}, nil, nil, zerolog.Nop(), nil)
	ds := []planner.Dataset{
		{ID: 1, Path: "/jfs/sized", Bytes: 10 << 30, State: api.TaskQueued},
		{ID: 2, Path: "/jfs/new", State: api.TaskQueued},
		{ID: 3, Path: "/jfs/empty", State: api.TaskQueued},
	}
	m.sized["/jfs/empty"] = true // checked: really 0 bytes
	d := planner.Decision{Starts: []planner.Start{{ID: 1, Path: "/jfs/sized"}, {ID: 2, Path: "/jfs/new"}, {ID: 3, Path: "/jfs/empty"}}}
	m.holdUnsized(&d, ds)
	require.Equal(t, []planner.Start{{ID: 1, Path: "/jfs/sized"}, {ID: 3, Path: "/jfs/empty"}}, d.Starts)
	require.Len(t, d.Waits, 1)
	require.Equal(t, int64(2), d.Waits[0].ID)
	require.Contains(t, d.Waits[0].Reason, "waiting for its size")
	require.Equal(t, "/jfs/new", <-m.sizing)
	m.holdUnsized(&planner.Decision{Starts: []planner.Start{{ID: 2, Path: "/jfs/new"}}}, ds)
	require.Empty(t, m.sizing, "asked once until the check ran")
}
