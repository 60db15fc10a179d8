package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatesDeriveFromTheOneList(t *testing.T) {
	require.Equal(t, []TaskState{TaskWarm, TaskPartial, TaskFailed, TaskCancelled, TaskEvicted}, TerminalStates())
	require.Equal(t, []TaskState{TaskQueued, TaskWarming}, ActiveStates())
	for _, s := range TaskStates {
		require.True(t, s.Valid(), s)
	}
	require.False(t, TaskVerifying.Valid(), "verifying is reported, never stored")
	require.False(t, TaskVerifying.Terminal(), "verifying is not terminal: ask again")
	require.False(t, TaskState("hot").Terminal())
	require.Equal(t, "partial, failed or evicted", JoinStates([]TaskState{TaskPartial, TaskFailed, TaskEvicted}, ", ", " or "))
	require.Equal(t, "queued", JoinStates([]TaskState{TaskQueued}, ", ", " or "))
	require.Equal(t, "", JoinStates(nil, ", ", " or "))
	for _, s := range Sources {
		require.True(t, s.Valid(), s)
	}
	require.False(t, Source("cron").Valid())
}
