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
