package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// gathered is one gather of the registry, by series name.
type gathered map[string]*dto.MetricFamily

func gather(t *testing.T, m *metrics.Metrics) gathered {
	t.Helper()
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	g := gathered{}
	for _, f := range fams {
		g[f.GetName()] = f
	}
	return g
}

// series returns the metrics of name whose labels include want.
func (g gathered) series(name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := g[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			ok := false
			for _, l := range m.GetLabel() {
				ok = ok || (l.GetName() == k && l.GetValue() == v)
			}
			if !ok {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// value is the one series of name with labels want: a counter's or gauge's
// value, a histogram's count; it fails the test when there is not exactly one.
func (g gathered) value(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	s := g.series(name, want)
	require.Len(t, s, 1, "%s%v", name, want)
	switch m := s[0]; {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	default:
		return float64(m.GetHistogram().GetSampleCount())
	}
}

func submit(t *testing.T, s *queue.Store, now time.Time, paths ...string) {
	t.Helper()
	_, err := s.Submit(context.Background(), queue.SubmitParams{Paths: paths, Source: api.SourceManual, Now: now})
	require.NoError(t, err)
}

// The task series come from the store at scrape time, one per state the
// store counts; the per-dataset series cover the largest TopDatasets only.
func TestStoreSeriesAtScrapeTime(t *testing.T) {
	clock := testutil.NewClock()
	s := queuetest.Open(t)
	m := metrics.New(s, clock.Now)
	ctx := context.Background()

	counts, err := s.Counts(ctx)
	require.NoError(t, err)
	g := gather(t, m)
	require.Len(t, g.series("accel_data_tasks", nil), len(counts), "one series per task state of the store")
	for st := range counts {
		require.Zero(t, g.value(t, "accel_data_tasks", map[string]string{"state": string(st)}))
	}

	n := metrics.TopDatasets + 5
	for i := range n {
		p := fmt.Sprintf("/jfs/ds%02d", i)
		submit(t, s, clock.Now(), p)
		require.NoError(t, s.RecordCheck(ctx, p, queue.Check{Bytes: int64(i+1) << 20, CachedBytes: int64(i+1) << 19, Ratio: 0.5}, clock.Now()))
	}
	g = gather(t, m)
	require.Equal(t, float64(n), g.value(t, "accel_data_tasks", map[string]string{"state": "queued"}))
	require.Equal(t, float64(n), g.value(t, "accel_data_queue_depth", nil))
	require.Len(t, g.series("accel_data_dataset_bytes", nil), metrics.TopDatasets, "cardinality bounded")
	largest := fmt.Sprintf("/jfs/ds%02d", n-1)
	require.Equal(t, float64(n<<20), g.value(t, "accel_data_dataset_bytes", map[string]string{"dataset": largest}))
	require.Equal(t, 0.5, g.value(t, "accel_data_dataset_cached_ratio", map[string]string{"dataset": largest}))
	require.Empty(t, g.series("accel_data_dataset_bytes", map[string]string{"dataset": "/jfs/ds00"}), "the smallest is left out")
	require.Empty(t, g.series("accel_data_dataset_hit_ratio", nil), "no job asked yet")
	require.Contains(t, g, "go_goroutines")
	require.Contains(t, g, "process_start_time_seconds")
}

func job(ready, warm bool, ds ...api.JobDataset) *api.JobStatus {
	return &api.JobStatus{Ready: ready, Warm: warm, Datasets: ds}
}

// A prolog wait runs from a job's first start to the answer that released
// it, and its outcome is the reason label.
func TestPrologWaits(t *testing.T) {
	clock := testutil.NewClock()
	m := metrics.New(queuetest.Open(t), clock.Now)
	t0 := clock.Now()

	m.JobStarted(1, t0, job(false, false))
	m.JobStarted(2, t0, job(false, false))
	g := gather(t, m)
	require.Equal(t, 2.0, g.value(t, "accel_data_prolog_waiting", nil))

	// Job 1 starts on a second node 3s later: it still waits from its first start.
	clock.Add(3 * time.Second)
	m.JobStarted(1, clock.Now(), job(false, false))
	m.JobAnswered(1, job(false, false))
	clock.Add(2 * time.Second)
	m.JobAnswered(1, job(true, true))
	m.JobAnswered(1, job(true, true)) // a second poll after release is not a second wait
	m.JobEnded(2)
	m.JobStarted(3, clock.Now(), job(true, false)) // settled at once, not all warm
	m.JobEnded(99)                                 // never seen

	g = gather(t, m)
	require.Zero(t, g.value(t, "accel_data_prolog_waiting", nil))
	h := g.series("accel_data_prolog_wait_seconds", map[string]string{"reason": metrics.WaitWarm})
	require.Len(t, h, 1)
	require.Equal(t, uint64(1), h[0].GetHistogram().GetSampleCount())
	require.Equal(t, 5.0, h[0].GetHistogram().GetSampleSum(), "from the first start, 5s before the warm answer")
	require.Equal(t, 1.0, g.value(t, "accel_data_prolog_wait_seconds", map[string]string{"reason": metrics.WaitEnded}))
	require.Equal(t, 1.0, g.value(t, "accel_data_prolog_wait_seconds", map[string]string{"reason": metrics.WaitPartial}))
}

// Each dataset of a job-start answer is a hit when answered warm; the
// per-dataset hit ratio is shown for the largest datasets.
func TestHitRatio(t *testing.T) {
	clock := testutil.NewClock()
	s := queuetest.Open(t)
	m := metrics.New(s, clock.Now)
	submit(t, s, clock.Now(), "/jfs/a", "/jfs/b")
	a := api.JobDataset{Dataset: "/jfs/a", State: api.TaskWarm}
	m.JobStarted(1, clock.Now(), job(false, false, a, api.JobDataset{Dataset: "/jfs/b", State: api.TaskQueued}))
	m.JobStarted(2, clock.Now(), job(false, false, api.JobDataset{Dataset: "/jfs/a", State: api.TaskVerifying}))
	m.JobStarted(3, clock.Now(), job(true, true, a))
	m.JobStarted(4, clock.Now(), job(true, true, a))

	g := gather(t, m)
	require.Equal(t, 3.0, g.value(t, "accel_data_job_datasets_total", map[string]string{"result": "hit"}))
	require.Equal(t, 2.0, g.value(t, "accel_data_job_datasets_total", map[string]string{"result": "miss"}))
	require.Equal(t, 0.75, g.value(t, "accel_data_dataset_hit_ratio", map[string]string{"dataset": "/jfs/a"}))
	require.Zero(t, g.value(t, "accel_data_dataset_hit_ratio", map[string]string{"dataset": "/jfs/b"}))
}

// The store reports each operation, named after its method, to StoreOp.
func TestStoreLatency(t *testing.T) {
	clock := testutil.NewClock()
	s := queuetest.Open(t)
	m := metrics.New(s, clock.Now)
	s.Observe(m.StoreOp)
	submit(t, s, clock.Now(), "/jfs/a")
	_, err := s.JobStatus(context.Background(), 12345)
	require.Error(t, err)
	g := gather(t, m) // the scrape reads Counts and TopDatasets itself
	require.Equal(t, 1.0, g.value(t, "accel_data_store_operation_duration_seconds", map[string]string{"op": "Submit", "result": "ok"}))
	require.Equal(t, 1.0, g.value(t, "accel_data_store_operation_duration_seconds", map[string]string{"op": "JobStatus", "result": "error"}))
	g = gather(t, m)
	// (the first scrape's own reads, at least)
	require.GreaterOrEqual(t, g.value(t, "accel_data_store_operation_duration_seconds", map[string]string{"op": "Counts", "result": "ok"}), 1.0)
	require.GreaterOrEqual(t, g.value(t, "accel_data_store_operation_duration_seconds", map[string]string{"op": "TopDatasets", "result": "ok"}), 1.0)
	require.Empty(t, g.series("accel_data_store_operation_duration_seconds", map[string]string{"op": "other"}))
}

// The counters the components report to, with their fixed label values
// present at zero from the start.
func TestCounters(t *testing.T) {
	m := metrics.New(queuetest.Open(t), nil)
	g := gather(t, m)
	for _, r := range []string{metrics.VerifyWarm, metrics.VerifyShort, metrics.VerifyTimeout, metrics.VerifyError} {
		require.Zero(t, g.value(t, "accel_data_verifications_total", map[string]string{"result": r}))
	}
	require.Zero(t, g.value(t, "accel_data_api_requests_total", map[string]string{"door": "tcp", "code": "4xx"}))

	m.Request(metrics.DoorTCP, 401)
	m.Request(metrics.DoorUnix, 200)
	m.Request(metrics.DoorUnix, 503)
	m.AuthFailure("replayed")
	m.Verified(metrics.VerifyShort)
	m.Evicted(metrics.EvictRoom, 3<<20)
	m.Warmed(5 << 20)
	m.Warmed(-1) // a check that found less cached adds nothing
	m.WarmupDone(api.TaskWarm, 8<<20, 2*time.Second)
	m.WarmupDone(api.TaskQueued, 0, time.Second)

	g = gather(t, m)
	require.Equal(t, 1.0, g.value(t, "accel_data_api_requests_total", map[string]string{"door": "tcp", "code": "4xx"}))
	require.Equal(t, 1.0, g.value(t, "accel_data_api_requests_total", map[string]string{"door": "unix", "code": "2xx"}))
	require.Equal(t, 1.0, g.value(t, "accel_data_api_requests_total", map[string]string{"door": "unix", "code": "5xx"}))
	require.Equal(t, 1.0, g.value(t, "accel_data_auth_failures_total", map[string]string{"reason": "replayed"}))
	require.Equal(t, 1.0, g.value(t, "accel_data_verifications_total", map[string]string{"result": metrics.VerifyShort}))
	require.Equal(t, 1.0, g.value(t, "accel_data_evictions_total", map[string]string{"reason": metrics.EvictRoom}))
	require.Equal(t, float64(3<<20), g.value(t, "accel_data_evicted_bytes_total", map[string]string{"reason": metrics.EvictRoom}))
	require.Equal(t, float64(5<<20), g.value(t, "accel_data_warmup_bytes_total", nil))
	require.Equal(t, 1.0, g.value(t, "accel_data_warmups_total", map[string]string{"result": "warm"}))
	require.Equal(t, 1.0, g.value(t, "accel_data_warmups_total", map[string]string{"result": "queued"}))
	h := g.series("accel_data_warmup_throughput_bytes_per_second", nil)
	require.Len(t, h, 1)
	require.Equal(t, uint64(1), h[0].GetHistogram().GetSampleCount(), "only a warm-up that fetched data has a speed")
	require.Equal(t, float64(4<<20), h[0].GetHistogram().GetSampleSum())
}

// Components built without metrics hold a nil *Metrics: every report is a no-op.
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.Request(metrics.DoorUnix, 200)
	m.AuthFailure("x")
	m.Warmed(1)
	m.WarmupDone(api.TaskWarm, 1, time.Second)
	m.Verified(metrics.VerifyWarm)
	m.Evicted(metrics.EvictLost, 1)
	m.StoreOp("Submit", time.Millisecond, nil)
	m.JobStarted(1, time.Now(), job(false, false))
	m.JobAnswered(1, job(true, true))
	m.JobEnded(1)
}

// Listen serves /metrics over HTTP; an address in use is an error that
// names the key.
func TestListen(t *testing.T) {
	m := metrics.New(queuetest.Open(t), nil)
	srv, err := m.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addr() + metrics.Path)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), `accel_data_tasks{state="queued"} 0`)

	_, err = m.Listen(srv.Addr())
	require.ErrorContains(t, err, "cannot listen on "+srv.Addr()+" (Metrics=)")
	require.NoError(t, srv.Close())
}
