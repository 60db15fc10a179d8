package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The thresholds are within what glibc accepts (mallopt returns 0 for an
// mmap threshold above 32 MiB on 64-bit, which would leave both unset).
func TestKeepMallocHeap(t *testing.T) {
	require.NoError(t, keepMallocHeap())
}
