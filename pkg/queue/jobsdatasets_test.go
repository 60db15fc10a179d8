package queue_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// The datasets of many jobs come from one query; a job warmupd does not
// know is left out.
func TestJobsDatasets(t *testing.T) {
	s, _ := open(t)
	for job, paths := range map[uint64][]string{41: {"/jfs/b", "/jfs/a"}, 42: {"/jfs/a"}} {
		_, err := s.Submit(ctx(), queue.SubmitParams{Paths: paths, UID: 1000, Token: fmt.Sprint("t", job), JobID: job, Source: api.SourceSubmit, Now: t0})
		require.NoError(t, err)
	}
	got, err := s.JobsDatasets(ctx(), []uint64{41, 42, 99})
	require.NoError(t, err)
	require.Equal(t, map[uint64][]string{41: {"/jfs/a", "/jfs/b"}, 42: {"/jfs/a"}}, got)
	got, err = s.JobsDatasets(ctx(), nil)
	require.NoError(t, err)
	require.Empty(t, got)
}
