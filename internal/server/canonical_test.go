package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A refused long path: the answer's path field carries it whole, the error
// text shows it shortened with the reason after it (it was cut before the
// reason in sbatch's output).
func TestCanonicalLongPathMessage(t *testing.T) {
	p := "/jfs/" + strings.Repeat("d", 4995)
	_, err := Canonical(p)
	var pe *PathError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, p, pe.Path)
	require.Equal(t, 400, pe.Status)
	require.Less(t, len(err.Error()), 200, err.Error())
	require.True(t, strings.HasSuffix(err.Error(), "dddd: path is 5000 bytes, longer than the 4096 allowed"), err.Error())
	require.Contains(t, err.Error(), "…")
}
