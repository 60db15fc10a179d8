package integration

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// scrape is one scrape of warmupd's /metrics, by series name.
type scrape map[string]*dto.MetricFamily

// value is the value of the series name whose labels include want (0 when
// there is none): a counter's or gauge's value, a histogram's count.
func (s scrape) value(name string, want map[string]string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func scrapeMetrics(t testing.TB, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// metricsURL reads the address warmupd logged for --metrics HOST:0.
func metricsURL(t testing.TB, d *testutil.Daemon) string {
	t.Helper()
	for _, line := range strings.Split(d.Logs(), "\n") {
		var e struct {
			Msg     string `json:"message"`
			Metrics string `json:"metrics"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "metrics served" {
			return e.Metrics
		}
	}
	t.Fatalf("warmupd did not log where it serves metrics:\n%s", d.Logs())
	return ""
}

// A real warmupd serves /metrics, and the series move as a warm-up, its
// re-verification and a job's start happen.
func TestMetricsMoveWithWork(t *testing.T) {
	v := testutil.NewVolume(t)
	ds := v.WriteFiles(t, "ds", 6, 2<<20)
	// VerifyMaxAge 1ms: every answer that calls ds warm re-verifies it first.
	d := testutil.StartWarmupd(t, v, "--metrics", "127.0.0.1:0", "--verify-max-age", "1ms")
	url := metricsURL(t, d)
	ctx := context.Background()

	before := scrapeMetrics(t, url)
	require.Contains(t, before, "go_goroutines", "the Go collector is registered")
	require.Contains(t, before, "process_cpu_seconds_total", "the process collector is registered")
	warm := map[string]string{"state": string(api.TaskWarm)}
	require.Contains(t, before, "accel_data_tasks")
	require.Zero(t, before.value("accel_data_tasks", warm))
	require.Zero(t, before.value("accel_data_warmup_bytes_total", nil))

	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)
	es := d.WaitQueue(2*time.Minute, allTerminal)
	require.Equal(t, api.TaskWarm, es[0].State)

	// A job starts on the warm data: its answer re-verifies it (VerifyMaxAge)
	// and its prolog polls until it is called warm.
	st, err := d.Client.JobStart(ctx, 4242, api.JobStartRequest{Paths: []string{ds}, Node: "node1"})
	require.NoError(t, err)
	for deadline := time.Now().Add(time.Minute); !st.Ready; {
		require.True(t, time.Now().Before(deadline), "job 4242 not ready within a minute: %+v", st)
		time.Sleep(100 * time.Millisecond)
		st, err = d.Client.JobStatus(ctx, 4242)
		require.NoError(t, err)
	}
	require.True(t, st.Warm, "%+v", st)

	after := scrapeMetrics(t, url)
	require.Equal(t, 1.0, after.value("accel_data_tasks", warm), "tasks by state counts the warm task")
	require.Zero(t, after.value("accel_data_queue_depth", nil))
	require.Positive(t, after.value("accel_data_warmup_bytes_total", nil), "bytes warmed grew")
	require.Equal(t, 1.0, after.value("accel_data_warmups_total", map[string]string{"result": "warm"}))
	require.Greater(t, after.value("accel_data_api_requests_total", map[string]string{"door": "unix", "code": "2xx"}),
		before.value("accel_data_api_requests_total", map[string]string{"door": "unix", "code": "2xx"}))
	require.GreaterOrEqual(t, after.value("accel_data_verifications_total", map[string]string{"result": "warm"}), 1.0,
		"the job's answer re-verified the data")
	require.Equal(t, 1.0, after.value("accel_data_prolog_wait_seconds", map[string]string{"reason": "warm"}), "one prolog wait, released warm")
	require.Zero(t, after.value("accel_data_prolog_waiting", nil))
	require.Equal(t, 1.0, after.value("accel_data_job_datasets_total", nil))
	require.Positive(t, after.value("accel_data_store_operation_duration_seconds", map[string]string{"op": "Submit"}))
	require.Positive(t, after.value("accel_data_store_operation_duration_seconds", map[string]string{"op": "Finish"}))
	dsLabel := map[string]string{"dataset": ds}
	require.Positive(t, after.value("accel_data_dataset_bytes", dsLabel))
	require.GreaterOrEqual(t, after.value("accel_data_dataset_cached_ratio", dsLabel), 0.99)
	require.Contains(t, after, "accel_data_dataset_hit_ratio")
}

// An address warmupd cannot bind for its metrics keeps it from starting, and
// the error names the key.
func TestMetricsAddressInUseRefusesStart(t *testing.T) {
	v := testutil.NewVolume(t)
	d := testutil.StartWarmupd(t, v, "--workers", "0")
	require.True(t, d.Stop())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	code, out := warmupdOnce(t, append(d.Args, "--metrics", l.Addr().String()))
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "cannot listen on "+l.Addr().String()+" (Metrics=)")
}
