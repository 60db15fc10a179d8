package main

import (
	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/queue"
)

// startMetrics serves warmupd's Prometheus metrics on addr (Metrics=; empty:
// off, and the components get nil metrics). An address that cannot be bound
// is an error: warmupd does not start. close stops serving.
func startMetrics(addr string, store *queue.Store, log zerolog.Logger) (m *metrics.Metrics, close func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	m = metrics.New(store, nil)
	srv, err := m.Listen(addr)
	if err != nil {
		return nil, nil, err
	}
	store.Observe(m.StoreOp)
	log.Info().Str("metrics", "http://"+srv.Addr()+metrics.Path).Msg("metrics served")
	return m, func() { _ = srv.Close() }, nil
}
