package server

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
)

// The server counts every answer by door and status class, the TCP door's
// refusals by reason, and the prolog waits of the jobs it is told about.
func TestMetricsOfRequests(t *testing.T) {
	r := newRig(t, nil)
	m := metrics.New(r.store, func() time.Time { return t0 })
	cfg := r.srv.cfg
	cfg.Metrics = m
	srv := New(cfg)
	sock := filepath.Join(t.TempDir(), "warmupd.sock")
	l, err := Listen(sock, 0o666)
	require.NoError(t, err)
	tl, err := ListenTCP("127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	go func() { _ = srv.Serve(tl) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	c := &api.Client{Socket: sock}
	ctx := context.Background()
	_, err = c.Health(ctx)
	require.NoError(t, err)
	_, err = c.Submit(ctx, api.SubmitRequest{Paths: []string{r.ds("nope")}})
	require.Error(t, err)
	resp, err := http.Post("http://"+tl.Addr().String()+"/v1/requests", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	require.Equal(t, 1.0, m.Value("accel_data_api_requests_total", map[string]string{"door": "unix", "code": "2xx"}))
	require.Equal(t, 1.0, m.Value("accel_data_api_requests_total", map[string]string{"door": "unix", "code": "4xx"}))
	require.Equal(t, 1.0, m.Value("accel_data_api_requests_total", map[string]string{"door": "tcp", "code": "4xx"}))
	require.Equal(t, 1.0, m.Value("accel_data_auth_failures_total", map[string]string{"reason": "munged_down"}), "no MUNGE verifier")

	// A job whose data is queued waits; its end ends the wait.
	st, err := c.JobStart(ctx, 7, api.JobStartRequest{Paths: []string{r.ds("ds1")}, Node: "n1", UID: 4242})
	require.NoError(t, err)
	require.False(t, st.Ready)
	require.Equal(t, 1.0, m.Value("accel_data_prolog_waiting", nil))
	require.Equal(t, 1.0, m.Value("accel_data_job_datasets_total", map[string]string{"result": "miss"}))
	require.NoError(t, c.JobEnd(ctx, 7, api.JobEndRequest{Reason: "epilog"}))
	require.Zero(t, m.Value("accel_data_prolog_waiting", nil))
	require.Equal(t, 1.0, m.Value("accel_data_prolog_wait_seconds", map[string]string{"reason": metrics.WaitEnded}))
}
