package prologwait

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const GiB = 1 << 30

func TestKeepWaiting(t *testing.T) {
	const bound = 10 * time.Minute
	require.True(t, KeepWaiting(0, 0, time.Hour, bound), "ready: nothing to wait for, the caller stops")
	require.True(t, KeepWaiting(60*GiB, float64(GiB), 0, bound), "60 s left of 10 min")
	require.True(t, KeepWaiting(60*GiB, float64(GiB), 9*time.Minute, bound), "exactly at the bound")
	require.False(t, KeepWaiting(60*GiB, float64(GiB), 9*time.Minute+time.Second, bound))
	require.False(t, KeepWaiting(10<<40, 2*float64(GiB), 0, bound), "10 TiB at 2 GiB/s takes 85 min")
	require.False(t, KeepWaiting(GiB, 0, 0, bound), "not warming: no ETA")
	require.False(t, KeepWaiting(GiB, float64(GiB), bound, bound), "bound reached")
	require.False(t, KeepWaiting(1<<62, 1e-9, 0, bound), "an ETA beyond what a Duration holds does not overflow into a yes")
}

func TestETA(t *testing.T) {
	require.Equal(t, time.Duration(0), ETA(0, 0))
	require.Equal(t, 60*time.Second, ETA(60*GiB, GiB))
	require.Equal(t, time.Duration(1<<63-1), ETA(1, 0))
	require.Equal(t, time.Duration(1<<63-1), ETA(1<<62, 1e-9))
}
