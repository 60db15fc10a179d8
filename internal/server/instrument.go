package server

import (
	"errors"
	"net/http"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/metrics"
)

// count counts every answer by door and status class (Config.Metrics); it
// wraps the whole handler, so refusals at the door count too.
func (s *Server) count(next http.Handler) http.Handler {
	if s.cfg.Metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		door := metrics.DoorUnix
		if fromTCP(r.Context()) {
			door = metrics.DoorTCP
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.cfg.Metrics.Request(door, sw.status)
	})
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection (the long
// poll lifts its write deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// authFailureLabel is the metrics label of why a TCP request was refused.
func authFailureLabel(err error) string {
	var rej *auth.Rejection
	if errors.As(err, &rej) {
		return rej.Reason.Label()
	}
	return "other"
}
