package scheduler

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/accel-data/accel-data/internal/server"
	"github.com/accel-data/accel-data/pkg/api"
)

// Routes are the API routes anyone may call: the warm-ups running as Slurm
// job arrays (`swarmup shards`).
func (s *Scheduler) Routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /v1/shards": func(w http.ResponseWriter, r *http.Request) {
			server.WriteJSON(w, http.StatusOK, api.ShardsResponse{Arrays: s.Arrays()})
		},
	}
}

// SlurmdRoutes are the routes only root or SlurmdUser may call: a shard's
// runner reporting its shard.
func (s *Scheduler) SlurmdRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /v1/shards/report": func(w http.ResponseWriter, r *http.Request) {
			var rep api.ShardReport
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rep); err != nil {
				server.WriteError(w, http.StatusBadRequest, "shard report: "+err.Error(), "")
				return
			}
			if err := s.Report(r.Context(), rep); err != nil {
				code := http.StatusServiceUnavailable
				if errors.Is(err, ErrUnknownRun) {
					code = http.StatusNotFound
				}
				server.WriteError(w, code, err.Error(), "")
				return
			}
			server.WriteJSON(w, http.StatusOK, struct{}{})
		},
	}
}
