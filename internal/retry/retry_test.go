package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestDecideDoublesThenGivesUp(t *testing.T) {
	p := Policy{Attempts: 4, Backoff: time.Second, Max: time.Hour}
	for attempts, wait := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second} {
		retry, at := p.Decide(attempts, t0)
		require.True(t, retry, "after attempt %d", attempts)
		require.Equal(t, t0.Add(wait), at, "after attempt %d", attempts)
	}
	retry, at := p.Decide(4, t0)
	require.False(t, retry, "the fourth attempt was the last")
	require.True(t, at.IsZero())
	require.Equal(t, "retry 2 of 4", p.Reason(1, true))
	require.Equal(t, "gave up after 4 attempts", p.Reason(4, false))
}

func TestDelayIsCapped(t *testing.T) {
	p := Policy{Attempts: 1000, Backoff: time.Minute, Max: 10 * time.Minute}
	require.Equal(t, 8*time.Minute, p.Delay(4))
	require.Equal(t, 10*time.Minute, p.Delay(5))
	require.Equal(t, 10*time.Minute, p.Delay(999), "no overflow for a long retry series")
}

func TestZeroPolicyHasTheDocumentedDefaults(t *testing.T) {
	var p Policy
	retry, at := p.Decide(1, t0)
	require.True(t, retry)
	require.Equal(t, t0.Add(DefaultBackoff), at)
	retry, _ = p.Decide(DefaultAttempts, t0)
	require.False(t, retry)
	require.Equal(t, "3 attempts, backoff 10s doubling up to 10m0s", p.String())
}
