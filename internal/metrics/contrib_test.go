package metrics_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

var contrib = filepath.Join("..", "..", "contrib")

// exported is every series name warmupd serves once each kind of event has
// happened (a histogram's name gives its _bucket, _sum and _count).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	s := queuetest.Open(t)
	m := metrics.New(s, nil)
	s.Observe(m.StoreOp)
	submit(t, s, time.Now(), "/jfs/a")
	m.Request(metrics.DoorUnix, 200)
	m.AuthFailure("replayed")
	m.JobStarted(1, time.Now(), job(true, true, api.JobDataset{Dataset: "/jfs/a", State: api.TaskWarm}))
	m.WarmupDone(api.TaskWarm, 1<<20, time.Second)
	names := map[string]bool{"up": true}
	for name, f := range gather(t, m) {
		names[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				names[name+sfx] = true
			}
		}
	}
	return names
}

var seriesName = regexp.MustCompile(`\b(accel_data_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+|up)\b\s*[{\[)]`)

// requireKnownSeries fails when expr names a series warmupd does not serve.
func requireKnownSeries(t *testing.T, names map[string]bool, where, expr string) {
	t.Helper()
	found := seriesName.FindAllStringSubmatch(expr, -1)
	require.NotEmpty(t, found, "%s: %q names no series", where, expr)
	for _, m := range found {
		require.True(t, names[m[1]], "%s: %s is not a series warmupd serves (docs/admin/metrics.md)", where, m[1])
	}
}

// The alert rules parse, name only series warmupd serves, and pass promtool
// where it is installed.
func TestAlertRules(t *testing.T) {
	path := filepath.Join(contrib, "prometheus", "alerts.yml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var f struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&f))
	names := exported(t)
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert)
			_, err := time.ParseDuration(r.For)
			require.NoError(t, err, "%s: for", r.Alert)
			require.NotEmpty(t, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			requireKnownSeries(t, names, r.Alert, r.Expr)
			alerts[r.Alert] = true
		}
	}
	for _, a := range []string{"WarmupdDown", "WarmupdVerificationFailing", "WarmupdPrologWaitsGrowing", "WarmupdHitRatioBelowTarget"} {
		require.True(t, alerts[a], "alert %s missing", a)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not installed (Debian package prometheus): the rules were checked by YAML and series names only")
		return
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	require.NoError(t, err, "promtool check rules:\n%s", out)
}

// The Grafana dashboard is JSON whose every query names series warmupd serves.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(contrib, "grafana", "accel-data.json"))
	require.NoError(t, err)
	var d struct {
		UID    string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(b, &d))
	require.Equal(t, "accel-data", d.UID)
	names := exported(t)
	used := map[string]bool{}
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			requireKnownSeries(t, names, p.Title, tg.Expr)
			for _, m := range seriesName.FindAllStringSubmatch(tg.Expr, -1) {
				used[strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_count")] = true
			}
		}
	}
	for _, s := range []string{"accel_data_tasks", "accel_data_queue_depth", "accel_data_warmup_bytes_total", "accel_data_prolog_wait_seconds",
		"accel_data_dataset_cached_ratio", "accel_data_dataset_hit_ratio", "accel_data_evictions_total", "accel_data_store_operation_duration_seconds"} {
		require.True(t, used[s], "the dashboard shows no panel of %s", s)
	}
}
