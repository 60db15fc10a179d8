package exitcode

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCarriesCodeThroughWrapping(t *testing.T) {
	base := errors.New("boom")
	err := fmt.Errorf("context: %w", With(4, base))
	c, ok := From(err)
	require.True(t, ok)
	require.Equal(t, Code(4), c)
	require.ErrorIs(t, err, base)
	require.Equal(t, "context: boom", err.Error())

	c, ok = From(Errorf(2, "bad flag %q", "--x"))
	require.True(t, ok)
	require.Equal(t, Code(2), c)

	_, ok = From(base)
	require.False(t, ok)
	_, ok = From(nil)
	require.False(t, ok)
}
