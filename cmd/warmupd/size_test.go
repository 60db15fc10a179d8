package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "500GiB": 500 << 30, "10T": 10 << 40, "1.5 TiB": 3 << 39, "2GB": 2e9, "4k": 4096} {
		var b byteSize
		require.NoError(t, b.Set(in), in)
		require.Equal(t, want, int64(b), in)
	}
	for _, in := range []string{"", "lots", "-1GiB", "10XB"} {
		var b byteSize
		require.ErrorContains(t, b.Set(in), "is not a size", in)
	}
}
