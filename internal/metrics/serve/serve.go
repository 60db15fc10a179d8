// Package serve serves a Prometheus registry's handler at /metrics on a TCP
// listener of its own. It links no collector, so a client (accel-agent) can
// use it without database/sql (client_golang's collectors package).
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Path is where the series are served.
const Path = "/metrics"

// Server serves /metrics on its own TCP listener (Metrics=HOST:PORT), apart
// from the API's doors: Prometheus needs no credential.
type Server struct {
	l     net.Listener
	http  *http.Server
	done  chan error
	close sync.Once
	err   error
}

// Listen serves h at Path on addr; key names the config key that set addr
// (for the error). accel-agent serves its own registry through it.
func Listen(addr, key string, h http.Handler) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: cannot listen on %s (%s=): %w; free the port, or set %s= to another HOST:PORT (empty: off)", addr, key, err, key)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, h)
	s := &Server{l: l, done: make(chan error, 1), http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}}
	go func() {
		err := s.http.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the bound address (the port chosen for HOST:0).
func (s *Server) Addr() string { return s.l.Addr().String() }

// Close stops serving and waits for the scrapes in flight (at most 5s).
// Closing again returns the first Close's result.
func (s *Server) Close() error {
	s.close.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.err = errors.Join(s.http.Shutdown(ctx), <-s.done)
	})
	return s.err
}
