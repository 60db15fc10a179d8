package eintr_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/eintr"
)

// An interrupted call is made again; its first other outcome, a result or
// another error, is returned as it is.
func TestRetry(t *testing.T) {
	calls := 0
	v, err := eintr.Retry(func() (int, error) {
		calls++
		if calls < 3 {
			return -1, unix.EINTR
		}
		return 7, nil
	})
	require.NoError(t, err)
	require.Equal(t, 7, v)
	require.Equal(t, 3, calls)

	calls = 0
	err = eintr.Do(func() error {
		calls++
		if calls == 1 {
			return unix.EINTR
		}
		return unix.ENOENT
	})
	require.ErrorIs(t, err, unix.ENOENT)
	require.Equal(t, 2, calls, "ENOENT is not retried")
}
