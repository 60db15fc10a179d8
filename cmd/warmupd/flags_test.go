package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/exitcode"
)

// --release-at takes 0 (off) or a share below 1; anything else is refused
// before warmupd starts, naming the flag.
func TestReleaseAtOutOfRangeIsAUsageError(t *testing.T) {
	for _, v := range []string{"1", "1.5", "-0.1"} {
		require.Equal(t, int(exitcode.Usage), run([]string{"--config", "/dev/null", "--release-at", v}), v)
	}
}

// --history-retention takes 0 (keep) or at least a second; a negative or a
// tiny one (which would prune in a busy loop) is refused before warmupd
// starts.
func TestHistoryRetentionOutOfRangeIsAUsageError(t *testing.T) {
	for _, v := range []string{"-1h", "1ns", "999ms"} {
		require.Equal(t, int(exitcode.Usage), run([]string{"--config", "/dev/null", "--history-retention", v}), v)
	}
}
