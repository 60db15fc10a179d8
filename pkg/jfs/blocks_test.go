package jfs

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The block names are JuiceFS's (pkg/chunk cached_store.go rSlice.key):
// checked against real output and against the formula on big slice ids.
func TestSliceBlockKeysMatchJuiceFS(t *testing.T) {
	// 10b_info_file.txt: slice 1 of 3730526 bytes is the object
	// "testvol/chunks/0/0/1_0_3730526" (the cache key is the object key
	// without the volume name).
	keys := SliceBlockKeys(1, 3730526, 4<<20, false)
	require.Equal(t, []string{"chunks/0/0/1_0_3730526"}, keys)
	require.Contains(t, sample(t, "10b_info_file.txt"), "testvol/"+keys[0])

	// A full 64 MiB slice is 16 blocks of 4 MiB; a 10 MiB one is 4+4+2.
	keys = SliceBlockKeys(1234567890, 64<<20, 4<<20, false)
	require.Len(t, keys, 16)
	require.Equal(t, "chunks/1234/1234567/1234567890_0_4194304", keys[0])
	require.Equal(t, "chunks/1234/1234567/1234567890_15_4194304", keys[15])
	require.Equal(t, []string{"chunks/0/12/12345_0_4194304", "chunks/0/12/12345_1_4194304", "chunks/0/12/12345_2_2097152"},
		SliceBlockKeys(12345, 10<<20, 4<<20, false))

	// HashPrefix: chunks/<id%256 as two upper-case hex digits>/<id/1e6>/…
	require.Equal(t, []string{"chunks/D2/1234/1234567890_0_1048576"}, SliceBlockKeys(1234567890, 1<<20, 4<<20, true))
	require.Equal(t, "chunks/0A/0/10_1_5", BlockKey(10, 1, 5, true))

	// Other block sizes; holes (slice 0) and empty slices have no blocks.
	require.Equal(t, []string{"chunks/0/0/7_0_1048576", "chunks/0/0/7_1_1"}, SliceBlockKeys(7, 1<<20+1, 1<<20, false))
	require.Empty(t, SliceBlockKeys(0, 4<<20, 4<<20, false))
	require.Empty(t, SliceBlockKeys(9, 0, 4<<20, false))

	require.Equal(t, "/c/u/raw/chunks/0/0/1_0_3", BlockPath("/c/u", "chunks/0/0/1_0_3"))
	for _, k := range SliceBlockKeys(99, 9<<20, 4<<20, false) {
		require.True(t, strings.HasPrefix(k, "chunks/0/0/99_"), k)
	}
}
