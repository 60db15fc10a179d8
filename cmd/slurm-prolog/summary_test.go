package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

func TestSummaryShowsWhyADatasetFailed(t *testing.T) {
	got := summary([]api.JobDataset{
		{Dataset: "/jfs/a", State: api.TaskWarm, CachedRatio: 1},
		{Dataset: "/jfs/b", State: api.TaskQueued, Reason: "waiting for a worker"},
		{Dataset: "/jfs/c", State: api.TaskFailed, Reason: "3.2 GiB, larger than MaxRequestBytes=1.0 GiB"},
	})
	require.Equal(t, "/jfs/a warm 100%, /jfs/b queued 0%, /jfs/c failed 0% (3.2 GiB, larger than MaxRequestBytes=1.0 GiB)", got)
}
