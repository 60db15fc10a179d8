// Package metrics is warmupd's Prometheus instrumentation: one Metrics
// value holds every series on a private registry (with the Go and process
// collectors), and the components that own each decision report to it —
// the API server (requests, authentication failures, prolog waits, job-start
// hits), the scheduler (bytes warmed, warm-up results and throughput), the
// verifier (re-verification results), the cache manager (evictions) and the
// store (operation latency). Task counts, queue depth and the per-dataset
// ratios are read from the store at scrape time. Every method works on a nil
// *Metrics (and does nothing), so components built without metrics (unit
// tests) need no special case. docs/admin/metrics.md lists the series.
package metrics

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accel-data/accel-data/pkg/api"
)

// Namespace prefixes every series warmupd exports.
const Namespace = "accel_data"

// TopDatasets is how many datasets (the largest) get per-dataset series:
// the bound on the cardinality of the dataset label.
const TopDatasets = 20

// Doors of the API (the door label of the request counter).
const (
	DoorUnix = "unix"
	DoorTCP  = "tcp"
)

// Results of one re-verification by the verifier (the result label of
// accel_data_verifications_total).
const (
	VerifyWarm    = "warm"    // --check found the target ratio
	VerifyShort   = "short"   // --check found less cached: the path is warmed again
	VerifyTimeout = "timeout" // --check did not finish within VerifyTimeout
	VerifyError   = "error"   // --check failed
)

// Eviction reasons (the reason label of accel_data_evictions_total).
const (
	// EvictRoom: the planner evicted it to make room for data a job needs.
	EvictRoom = "room"
	// EvictActive: the planner evicted it for an active warm-up.
	EvictActive = "active"
	// EvictLost: a re-verification found its blocks gone and nothing needed
	// it any more; it was marked evicted.
	EvictLost = "lost"
)

// Kinds of metadata walk of a dataset made for a warm-up (the kind label
// of accel_data_dataset_walks_total).
const (
	WalkList  = "list"  // warmupd's own walk that cuts the dataset into shards
	WalkCheck = "check" // a juicefs warmup --check of the whole dataset
)

// Prolog-wait outcomes (the reason label of accel_data_prolog_wait_seconds).
const (
	WaitWarm    = "warm"    // every dataset of the job was answered warm
	WaitPartial = "partial" // every dataset settled, some not warm: the job is released on cold data
	WaitEnded   = "ended"   // the job ended before its data was ready (its prolog gave up: timeout or ETA)
)

// Store is what the scrape reads from the queue (*queue.Store).
type Store interface {
	// Counts is the number of tasks in each state, every state present.
	Counts(ctx context.Context) (map[api.TaskState]int, error)
	// TopDatasets is the n largest datasets with their cached bytes and ratio.
	TopDatasets(ctx context.Context, n int) ([]api.Dataset, error)
	// WriterBusy is how long the store's one writer connection has been
	// held since it opened.
	WriterBusy() time.Duration
}

// Metrics holds warmupd's series. Build it with New.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	requests      *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	prologWait    *prometheus.HistogramVec
	prologWaiting prometheus.GaugeFunc
	jobData       *prometheus.CounterVec
	warmedBytes   prometheus.Counter
	throughput    prometheus.Histogram
	warmups       *prometheus.CounterVec
	verifications *prometheus.CounterVec
	evictions     *prometheus.CounterVec
	evictedBytes  *prometheus.CounterVec
	storeOps      *prometheus.HistogramVec
	walks         *prometheus.CounterVec

	mu    sync.Mutex
	waits map[uint64]time.Time // job id -> its first start, while its prolog waits
	hits  map[string]hits      // dataset -> job starts that found it warm / all
}

// hits counts a dataset's job starts and those that found it warm.
type hits struct{ warm, all int }

// maxTracked bounds the in-memory tables (jobs waiting, datasets with hit
// counts): past it new entries are not tracked (the totals still count).
const maxTracked = 10000

// New builds the series on a private registry; store is read at each
// scrape; now is the clock of the prolog waits (nil: time.Now).
func New(store Store, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: now, waits: map[uint64]time.Time{}, hits: map[string]hits{}}
	name := func(n string) string { return Namespace + "_" + n }
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("api_requests_total"),
		Help: "API requests answered, by door (unix, tcp) and status class (2xx, 4xx, 5xx)."}, []string{"door", "code"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("auth_failures_total"),
		Help: "TCP requests refused (401), by reason."}, []string{"reason"})
	m.prologWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("prolog_wait_seconds"),
		Help:    "Time from a job's start (its prolog's first call) to the answer that released it, by outcome.",
		Buckets: []float64{0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}}, []string{"reason"})
	m.prologWaiting = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name("prolog_waiting"),
		Help: "Started jobs whose data is not ready yet (their prologs wait)."}, func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(len(m.waits))
	})
	m.jobData = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("job_datasets_total"),
		Help: "Datasets of starting jobs, by whether the job's first answer found them warm (hit) or not (miss)."}, []string{"result"})
	m.warmedBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: name("warmup_bytes_total"),
		Help: "Bytes brought into the cache by warm-ups (growth of the warming mount's .stats cache-write/object-GET byte counters)."})
	m.throughput = prometheus.NewHistogram(prometheus.HistogramOpts{Name: name("warmup_throughput_bytes_per_second"),
		Help:    "Average speed of each finished warm-up that fetched data (bytes fetched / its duration).",
		Buckets: prometheus.ExponentialBuckets(1<<20, 4, 10)})
	m.warmups = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("warmups_total"),
		Help: "Warm-up attempts finished, by the state they left the task in (warm, partial, failed, or queued for a retry)."}, []string{"result"})
	m.verifications = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("verifications_total"),
		Help: "Re-verifications (bounded juicefs warmup --check of warm data before it is called warm), by result."}, []string{"result"})
	m.evictions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("evictions_total"),
		Help: "Datasets evicted (marked evicted), by reason."}, []string{"reason"})
	m.evictedBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("evicted_bytes_total"),
		Help: "Size of the datasets evicted, by reason."}, []string{"reason"})
	m.storeOps = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("store_operation_duration_seconds"),
		Help:    "Latency of the SQLite store's operations, by operation and result (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9)}, []string{"op", "result"})
	m.walks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("dataset_walks_total"),
		Help: "Metadata walks of a dataset made by warm-ups beyond juicefs warmup's own, by kind (list: the walk that cuts it into shards; check: a juicefs warmup --check)."}, []string{"kind"})
	// Label values known in advance are present from the start (at zero),
	// so rate() and the alert rules see them before their first event.
	for _, d := range []string{DoorUnix, DoorTCP} {
		for _, c := range []string{"2xx", "4xx", "5xx"} {
			m.requests.WithLabelValues(d, c)
		}
	}
	for _, r := range []string{"hit", "miss"} {
		m.jobData.WithLabelValues(r)
	}
	for _, r := range []string{VerifyWarm, VerifyShort, VerifyTimeout, VerifyError} {
		m.verifications.WithLabelValues(r)
	}
	for _, k := range []string{WalkList, WalkCheck} {
		m.walks.WithLabelValues(k)
	}
	for _, r := range []string{EvictRoom, EvictActive, EvictLost} {
		m.evictions.WithLabelValues(r)
		m.evictedBytes.WithLabelValues(r)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.authFailures, m.prologWait, m.prologWaiting, m.jobData, m.warmedBytes, m.throughput,
		m.warmups, m.verifications, m.evictions, m.evictedBytes, m.storeOps, m.walks,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name("store_writer_busy_seconds_total"),
			Help: "Time the SQLite store's one writer connection was held. Every write goes through it, one transaction at a time, so its rate is the writer's utilisation (the time it waits for a CPU included): from about 0.7, submissions queue for it."},
			func() float64 { return store.WriterBusy().Seconds() }),
		&storeCollector{store: store, m: m},
	)
	return m
}

// Handler serves the registry in the Prometheus text format. A series the
// store cannot give is left out of that scrape (logged by the store); the
// others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the private registry (for tests that gather it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts one API answer through door with HTTP status code.
func (m *Metrics) Request(door string, code int) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(door, codeClass(code)).Inc()
}

func codeClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return string(rune('0'+code/100)) + "xx"
}

// AuthFailure counts one refused TCP request; reason is a short label
// (auth.Reason's Label).
func (m *Metrics) AuthFailure(reason string) {
	if m == nil {
		return
	}
	m.authFailures.WithLabelValues(reason).Inc()
}

// Warmed adds bytes brought into the cache by a running warm-up.
func (m *Metrics) Warmed(bytes int64) {
	if m == nil || bytes <= 0 {
		return
	}
	m.warmedBytes.Add(float64(bytes))
}

// Walked counts one metadata walk of a dataset made for a warm-up (WalkList, WalkCheck).
func (m *Metrics) Walked(kind string) {
	if m == nil {
		return
	}
	m.walks.WithLabelValues(kind).Inc()
}

// WarmupDone counts a warm-up attempt that left its task in state result,
// and records its speed when it fetched anything.
func (m *Metrics) WarmupDone(result api.TaskState, fetched int64, took time.Duration) {
	if m == nil {
		return
	}
	m.warmups.WithLabelValues(string(result)).Inc()
	if fetched > 0 && took > 0 {
		m.throughput.Observe(float64(fetched) / took.Seconds())
	}
}

// Verified counts one re-verification result (VerifyWarm, ...).
func (m *Metrics) Verified(result string) {
	if m == nil {
		return
	}
	m.verifications.WithLabelValues(result).Inc()
}

// Evicted counts one eviction of a dataset of the given size (EvictRoom, ...).
func (m *Metrics) Evicted(reason string, bytes int64) {
	if m == nil {
		return
	}
	m.evictions.WithLabelValues(reason).Inc()
	if bytes > 0 {
		m.evictedBytes.WithLabelValues(reason).Add(float64(bytes))
	}
}

// StoreOp records one store operation (queue.Store's observer).
func (m *Metrics) StoreOp(op string, took time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.storeOps.WithLabelValues(op, result).Observe(took.Seconds())
}
