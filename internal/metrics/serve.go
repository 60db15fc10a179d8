package metrics

import "github.com/accel-data/accel-data/internal/metrics/serve"

// Path is where the series are served.
const Path = serve.Path

// Server serves /metrics on its own TCP listener (Metrics=HOST:PORT).
type Server = serve.Server

// Listen binds addr; an address that cannot be bound is an error saying so,
// and warmupd refuses to start.
func (m *Metrics) Listen(addr string) (*Server, error) {
	return serve.Listen(addr, "Metrics", m.Handler())
}
