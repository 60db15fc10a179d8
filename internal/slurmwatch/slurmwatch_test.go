package slurmwatch

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testdata/squeue-22.05.json is real `squeue --json` output of Debian's
// Slurm 22.05: a cancelled job whose admin comment was set by hand to a
// too-short tag (not a token), a held job (start unknown) and one with
// --begin an hour ahead, both tagged by job_submit.lua.
func TestParseRealSqueueJSON(t *testing.T) {
	data, err := os.ReadFile("testdata/squeue-22.05.json")
	require.NoError(t, err)
	l, err := Parse(data)
	require.NoError(t, err)
	jobs := l.Tagged
	require.Len(t, jobs, 2)
	require.Equal(t, uint64(2), jobs[0].JobID)
	require.Equal(t, "bbb59171a7702f97f022e433198ddbdb", jobs[0].Token)
	require.Equal(t, "PENDING", jobs[0].State)
	require.True(t, jobs[0].ExpectedStart.IsZero(), "a held job has no expected start")
	require.Equal(t, uint64(3), jobs[1].JobID)
	require.Equal(t, time.Unix(1795575820, 0), jobs[1].ExpectedStart)
	require.Equal(t, map[uint64]string{1: "CANCELLED", 2: "PENDING", 3: "PENDING"}, l.States, "every listed job, tagged or not")
	require.Empty(t, l.Errors)
}

func TestParseIgnoresUntaggedAndGarbage(t *testing.T) {
	l, err := Parse([]byte(`{"jobs":[{"job_id":5,"job_state":"PENDING","start_time":0,"admin_comment":"site note"},
		{"job_id":6,"job_state":"PENDING","start_time":0,"admin_comment":"site note accel-data:0123456789abcdef"},
		{"job_id":7,"job_state":"PENDING","start_time":0,"admin_comment":"xaccel-data:0123456789abcdef"}]}`))
	require.NoError(t, err)
	require.Len(t, l.Tagged, 1)
	require.Equal(t, uint64(6), l.Tagged[0].JobID)
	_, err = Parse([]byte("squeue: error: not json"))
	require.ErrorContains(t, err, "parse squeue --json")
}

// testdata/squeue-22.05-stagein*.json is real `squeue --json` of Debian's
// Slurm 22.05 with burst_buffer/lua: a job of nobody in its stage-in, with
// the comment warmupd writes; and the same job just after `scontrol update
// Comment=…`, when squeue shows reason None until the next scheduling pass.
func TestParseStageInJobs(t *testing.T) {
	data, err := os.ReadFile("testdata/squeue-22.05-stagein.json")
	require.NoError(t, err)
	l, err := Parse(data)
	require.NoError(t, err)
	require.Len(t, l.Tagged, 1)
	require.Len(t, l.Waiting, 1)
	require.Equal(t, uint64(1), l.Waiting[0].JobID)
	require.Equal(t, "BurstBufferStageIn", l.Waiting[0].Reason)
	require.Equal(t, "user note accel-data: 40% warm, ETA 2m", l.Waiting[0].Comment)

	data, err = os.ReadFile("testdata/squeue-22.05-stagein-updated.json")
	require.NoError(t, err)
	l, err = Parse(data)
	require.NoError(t, err)
	require.Len(t, l.Waiting, 1, "a pending job with reason None may be one just updated")
	require.Equal(t, "None", l.Waiting[0].Reason)

	data, err = os.ReadFile("testdata/squeue-22.05.json")
	require.NoError(t, err)
	l, err = Parse(data)
	require.NoError(t, err)
	require.Empty(t, l.Waiting, "held and begin-time jobs do not wait for data")
}
