package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

func TestCancelLineSaysWhatHappened(t *testing.T) {
	require.Equal(t, "cancelled task 3 (/jfs/ds)", cancelLine(api.CancelItem{TaskID: 3, Dataset: "/jfs/ds", Withdrawn: 1, Cancelled: true}))
	require.Equal(t, "withdrew your request for task 3 (/jfs/ds); it goes on: still wanted by 1 other request/job",
		cancelLine(api.CancelItem{TaskID: 3, Dataset: "/jfs/ds", Withdrawn: 1, StillWanted: 1}))
	require.Equal(t, "withdrew your request for task 3 (/jfs/ds); it goes on: still wanted by 4 other requests/jobs",
		cancelLine(api.CancelItem{TaskID: 3, Dataset: "/jfs/ds", Withdrawn: 2, StillWanted: 4}))
	require.Equal(t, "cancelled task 3 (/jfs/datasets); paths below it that other requests/jobs still want are queued on their own: /jfs/datasets/big3 (task 1)",
		cancelLine(api.CancelItem{TaskID: 3, Dataset: "/jfs/datasets", Withdrawn: 1, Cancelled: true,
			Restored: []api.SubmitItem{{Path: "/jfs/datasets/big3", Dataset: "/jfs/datasets/big3", TaskID: 1}}}))
}
