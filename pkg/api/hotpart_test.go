package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A task reason written with Note names its part; any other reason none.
func TestHotPartOfReadsNote(t *testing.T) {
	for _, h := range HotParts {
		require.Equal(t, h, HotPartOf(h.Note("first 25 % of bytes")))
	}
	require.Equal(t, HotPart(""), HotPartOf("larger than MaxRequestBytes"))
	require.Equal(t, HotPart(""), HotPartOf("narrowed"))
}
