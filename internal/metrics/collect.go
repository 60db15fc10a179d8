package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accel-data/accel-data/pkg/api"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 10 * time.Second

var (
	descTasks = prometheus.NewDesc(Namespace+"_tasks", "Warm-up tasks by state (read from the store at scrape time).",
		[]string{"state"}, nil)
	descQueueDepth   = prometheus.NewDesc(Namespace+"_queue_depth", "Tasks waiting for a worker (state queued).", nil, nil)
	descDatasetBytes = prometheus.NewDesc(Namespace+"_dataset_bytes", "Size of each of the largest datasets (TopDatasets of them), from its last --check.",
		[]string{"dataset"}, nil)
	descCachedRatio = prometheus.NewDesc(Namespace+"_dataset_cached_ratio", "Cached fraction of each of the largest datasets, from its last --check.",
		[]string{"dataset"}, nil)
	descHitRatio = prometheus.NewDesc(Namespace+"_dataset_hit_ratio", "Share of job starts since warmupd started that found the dataset warm (largest datasets that jobs asked for).",
		[]string{"dataset"}, nil)
)

// storeCollector reads the task counts and the largest datasets from the
// store when Prometheus scrapes.
type storeCollector struct {
	store Store
	m     *Metrics
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTasks, descQueueDepth, descDatasetBytes, descCachedRatio, descHitRatio} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.store.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descTasks, err)
	} else {
		// The states are the store's own list: Counts has every one.
		for st, n := range counts {
			ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(n), string(st))
		}
		ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(counts[api.TaskQueued]))
	}
	ds, err := c.store.TopDatasets(ctx, TopDatasets)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descCachedRatio, err)
		return
	}
	for _, d := range ds {
		ch <- prometheus.MustNewConstMetric(descDatasetBytes, prometheus.GaugeValue, float64(d.Bytes), d.Path)
		ch <- prometheus.MustNewConstMetric(descCachedRatio, prometheus.GaugeValue, d.CachedRatio, d.Path)
		if r, ok := c.m.hitRatio(d.Path); ok {
			ch <- prometheus.MustNewConstMetric(descHitRatio, prometheus.GaugeValue, r, d.Path)
		}
	}
}
