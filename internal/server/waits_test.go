package server

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// The jobs the last squeue poll listed as waiting for their data show in
// the queue entries of the datasets they need and in their job status; a
// waiting job warmupd does not know (not an accel-data job) shows nowhere.
func TestQueueAndJobStatusShowWaitingJobs(t *testing.T) {
	r := newRig(t, nil)
	seen := t0.Add(-10 * time.Second)
	waits := map[uint64]string{43: "BurstBufferStageIn", 41: "Prolog", 99: "BurstBufferStageIn"}
	r.srv.cfg.Waits = func() (map[uint64]string, time.Time) { return waits, seen }

	_, err := r.store.Submit(context.Background(), queue.SubmitParams{Paths: []string{r.ds("ds1")}, UID: 4242, JobID: 43,
		Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)
	r.ok(&root, "POST", "/v1/jobs/41/start", jsonOf(t, api.JobStartRequest{Paths: []string{r.ds("ds1"), r.ds("ds2")}, Node: "n1", UID: 4242}), nil)

	var q api.QueueResponse
	r.ok(&user, "GET", "/v1/queue", "", &q)
	got := map[string][]api.SlurmWait{}
	for _, e := range q.Entries {
		got[e.Dataset] = e.Waiting
	}
	require.Equal(t, map[string][]api.SlurmWait{
		r.ds("ds1"): {
			{Stage: "stage-in", Reason: "BurstBufferStageIn", JobIDs: []uint64{43}, SeenAt: seen},
			{Stage: "prolog", Reason: "Prolog", JobIDs: []uint64{41}, SeenAt: seen},
		},
		r.ds("ds2"): {{Stage: "prolog", Reason: "Prolog", JobIDs: []uint64{41}, SeenAt: seen}},
	}, got)

	var st api.JobStatus
	r.ok(&user, "GET", "/v1/jobs/43", "", &st)
	require.Equal(t, &api.SlurmWait{Stage: "stage-in", Reason: "BurstBufferStageIn", JobIDs: []uint64{43}, SeenAt: seen}, st.Waiting)

	delete(waits, 43) // the next poll: job 43 no longer waits
	st = api.JobStatus{}
	r.ok(&user, "GET", "/v1/jobs/43", "", &st)
	require.Nil(t, st.Waiting)
	q = api.QueueResponse{}
	r.ok(&user, "GET", "/v1/queue", "", &q)
	for _, e := range q.Entries {
		for _, w := range e.Waiting {
			require.Equal(t, []uint64{41}, w.JobIDs, "only job 41 still waits")
		}
	}
}
