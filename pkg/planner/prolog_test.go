package planner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKeepWaiting(t *testing.T) {
	const bound = 10 * time.Minute
	require.True(t, KeepWaiting(0, 0, time.Hour, bound), "ready: nothing to wait for, the caller stops")
	require.True(t, KeepWaiting(60*GiB, float64(GiB), 0, bound), "60 s left of 10 min")
	require.True(t, KeepWaiting(60*GiB, float64(GiB), 9*time.Minute, bound), "exactly at the bound")
	require.False(t, KeepWaiting(60*GiB, float64(GiB), 9*time.Minute+time.Second, bound))
	require.False(t, KeepWaiting(10<<40, 2*float64(GiB), 0, bound), "10 TiB at 2 GiB/s takes 85 min")
	require.False(t, KeepWaiting(GiB, 0, 0, bound), "not warming: no ETA")
	require.False(t, KeepWaiting(GiB, float64(GiB), bound, bound), "bound reached")
}
