package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// waitCall runs a long poll in the background; its answer arrives on the channel.
func (r *rig) waitCall(target string) <-chan api.JobStatus {
	out := make(chan api.JobStatus, 1)
	go func() {
		code, body := r.call(&root, "GET", target, "")
		var st api.JobStatus
		if code == http.StatusOK {
			_ = json.Unmarshal([]byte(body), &st)
		}
		out <- st
	}()
	return out
}

// A long poll of a job's readiness holds the request (a subscription, no
// store reads) until the scheduler says its dataset changed, then answers
// with the new state; an unrelated dataset does not wake it.
func TestJobWaitAnswersWhenTheDatasetChanges(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	var st api.JobStatus
	r.ok(&root, "POST", "/v1/jobs/7/start", jsonOf(t, api.JobStartRequest{Paths: []string{r.ds("ds1")}, Node: "n1", UID: 4242}), &st)
	require.False(t, st.Ready)

	r.ok(&user, "GET", "/v1/jobs/7/wait?timeout=0s", "", &st)
	require.False(t, st.Ready, "a zero timeout answers at once")
	require.Zero(t, r.hub.Waiters())

	answer := r.waitCall("/v1/jobs/7/wait?timeout=10m")
	require.Eventually(t, func() bool { return r.hub.Waiters() == 1 }, time.Minute, time.Millisecond)
	task, err := r.store.Dequeue(ctx, "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, r.store.Finish(ctx, task.ID, "w", queue.Outcome{State: api.TaskWarm,
		Check: &queue.Check{Files: 1, Bytes: 10, CachedBytes: 10, Ratio: 1}}, t0))
	r.hub.Notify(r.ds("ds2")) // another dataset: nobody here waits on it
	require.Equal(t, 1, r.hub.Waiters())
	r.hub.Notify(r.ds("ds1")) // what the scheduler does after Finish
	got := <-answer
	require.True(t, got.Ready)
	require.True(t, got.Warm)
	require.Zero(t, r.hub.Waiters(), "the subscription is gone with the answer")
}

// A long poll ends when the job ends, and at once when warmupd shuts down;
// bad timeouts are refused and an unknown job is 404 as for GET /v1/jobs/{id}.
func TestJobWaitEndsAndIsValidated(t *testing.T) {
	r := newRig(t, nil)
	r.ok(&root, "POST", "/v1/jobs/8/start", jsonOf(t, api.JobStartRequest{Paths: []string{r.ds("ds1")}, Node: "n1", UID: 4242}), nil)
	code, body := r.call(&user, "GET", "/v1/jobs/8/wait?timeout=soon", "")
	require.Equal(t, http.StatusBadRequest, code, body)
	code, _ = r.call(&user, "GET", "/v1/jobs/9/wait?timeout=1s", "")
	require.Equal(t, http.StatusNotFound, code)

	answer := r.waitCall("/v1/jobs/8/wait?timeout=10m")
	require.Eventually(t, func() bool { return r.hub.Waiters() == 1 }, time.Minute, time.Millisecond)
	r.ok(&root, "POST", "/v1/jobs/8/end", `{"exit_code":0}`, nil)
	require.Equal(t, api.JobEnded, (<-answer).State)

	answer = r.waitCall("/v1/jobs/8/wait?timeout=10m")
	// An ended job answers at once (nothing to wait for).
	require.Equal(t, api.JobEnded, (<-answer).State)

	r.ok(&root, "POST", "/v1/jobs/10/start", jsonOf(t, api.JobStartRequest{Paths: []string{r.ds("ds2")}, Node: "n1", UID: 4242}), nil)
	answer = r.waitCall("/v1/jobs/10/wait?timeout=10m")
	require.Eventually(t, func() bool { return r.hub.Waiters() == 1 }, time.Minute, time.Millisecond)
	require.NoError(t, r.srv.Shutdown(context.Background()))
	require.False(t, (<-answer).Ready, "shutting down answers the long polls with what is known")
}

// Over the unix socket (the real handler chain with metrics, whose writers
// unwrap to the connection) a long poll lifts the server's 60 s write deadline and may be
// held for what the client asked (here answered at once: the job is ready).
func TestJobWaitLiftsTheWriteDeadline(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.ok(&root, "POST", "/v1/jobs/7/start", jsonOf(t, api.JobStartRequest{Paths: []string{r.ds("ds1")}, Node: "n1", UID: 4242}), nil)
	task, err := r.store.Dequeue(ctx, "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, r.store.Finish(ctx, task.ID, "w", queue.Outcome{State: api.TaskWarm,
		Check: &queue.Check{Files: 1, Bytes: 10, CachedBytes: 10, Ratio: 1}}, t0))

	sock := filepath.Join(t.TempDir(), "warmupd.sock")
	l, err := Listen(sock, 0o666)
	require.NoError(t, err)
	cfg := r.srv.cfg
	cfg.Metrics = metrics.New(r.store, func() time.Time { return t0 })
	srv := New(cfg)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://warmupd/v1/jobs/7/wait?timeout=5m")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "5m0s", resp.Header.Get(WaitBoundHeader))

	code, _ := r.call(&root, "GET", "/v1/jobs/7/wait?timeout=5m", "")
	require.Equal(t, http.StatusOK, code, "a writer that cannot lift it is answered within it")
}
