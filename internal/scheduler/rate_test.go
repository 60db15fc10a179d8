package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateNeedsAWindowOfGrowth(t *testing.T) {
	s := &Scheduler{rates: rates{m: map[string]rate{}}}
	t0 := time.Unix(1_800_000_000, 0)
	const mib = 1 << 20
	s.rates.observe("/jfs/a", 10*mib, t0) // already partly cached
	s.rates.observe("/jfs/a", 10*mib, t0.Add(2*time.Second))
	require.Zero(t, s.Rate("/jfs/a"), "no growth yet: no speed")
	s.rates.observe("/jfs/a", 30*mib, t0.Add(4*time.Second)) // first burst
	s.rates.observe("/jfs/a", 50*mib, t0.Add(9*time.Second))
	require.Zero(t, s.Rate("/jfs/a"), "growth watched for 5 s only: no speed yet")
	s.rates.observe("/jfs/a", 80*mib, t0.Add(14*time.Second))
	require.InDelta(t, 5*mib, s.Rate("/jfs/a"), 1, "50 MiB in the 10 s since the first growth")
	s.rates.forget("/jfs/a")
	require.Zero(t, s.Rate("/jfs/a"))
	require.Zero(t, s.Rate("/jfs/other"))
}
