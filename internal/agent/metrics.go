package agent

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Results of one report sent to warmupd (the result label of
// accel_data_agent_reports_total).
const (
	ReportOK      = "ok"      // warmupd took it
	ReportError   = "error"   // warmupd unreachable or failing: kept and sent again
	ReportRefused = "refused" // warmupd refused it (4xx): dropped
)

// Results of one inode look-up (juicefs info) (the result label of
// accel_data_agent_inode_lookups_total).
const (
	LookupOK      = "ok"      // the inode's path was found
	LookupFailed  = "failed"  // juicefs info failed or gave no path: negatively cached
	LookupLimited = "limited" // not asked: over the rate or concurrency cap
)

// Metrics holds accel-agent's series on a private registry, served at
// AgentMetrics=HOST:PORT (without the Go and process collectors: their
// package links database/sql, which the agent must not). Counters of the
// access log advance at each report (every AgentInterval). Every method
// works on a nil *Metrics. It is apart from internal/metrics (warmupd's),
// whose scrape reads the queue, so the agent links no store.
type Metrics struct {
	reg                                   *prometheus.Registry
	lines, lost, unattributed, unresolved prometheus.Counter
	reports, lookups                      *prometheus.CounterVec
	reportsDropped                        prometheus.Counter
}

// NewMetrics builds the agent's series.
func NewMetrics() *Metrics {
	name := func(n string) string { return "accel_data_agent_" + n }
	c := func(n, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name(n), Help: help})
	}
	m := &Metrics{reg: prometheus.NewRegistry(),
		lines:          c("lines_total", "Access-log lines read."),
		lost:           c("lines_lost_total", "Access-log lines JuiceFS dropped that the agent can prove (gaps; a lower bound)."),
		unattributed:   c("unattributed_bytes_total", "Bytes read by processes of no Slurm job."),
		unresolved:     c("unresolved_bytes_total", "Bytes read of inodes whose path the agent could not find."),
		reportsDropped: c("reports_dropped_total", "Reports dropped: beyond AgentBuffer while warmupd was unreachable, or refused by warmupd."),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("reports_total"),
			Help: "Reports sent to warmupd, by result (ok, error: kept for the next try, refused: dropped)."}, []string{"result"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("inode_lookups_total"),
			Help: "Inodes not seen in a lookup line, resolved with juicefs info, by result (ok, failed, limited: over AgentInfoRate or AgentInfoConcurrency)."}, []string{"result"}),
	}
	for _, r := range []string{ReportOK, ReportError, ReportRefused} {
		m.reports.WithLabelValues(r)
	}
	for _, r := range []string{LookupOK, LookupFailed, LookupLimited} {
		m.lookups.WithLabelValues(r)
	}
	m.reg.MustRegister(m.lines, m.lost, m.unattributed, m.unresolved, m.reportsDropped, m.reports, m.lookups)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// interval adds one report interval's access-log counts.
func (m *Metrics) interval(lines, lost, unattributed, unresolved int64) {
	if m == nil {
		return
	}
	m.lines.Add(float64(lines))
	m.lost.Add(float64(lost))
	m.unattributed.Add(float64(unattributed))
	m.unresolved.Add(float64(unresolved))
}

// report counts one report sent, by result.
func (m *Metrics) report(result string) {
	if m == nil {
		return
	}
	m.reports.WithLabelValues(result).Inc()
}

// dropped counts reports dropped.
func (m *Metrics) dropped(n int) {
	if m == nil {
		return
	}
	m.reportsDropped.Add(float64(n))
}

// lookup counts one inode look-up, by result.
func (m *Metrics) lookup(result string) {
	if m == nil {
		return
	}
	m.lookups.WithLabelValues(result).Inc()
}
