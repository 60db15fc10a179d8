package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// accessReport takes an accel-agent report (POST /v1/access; root or
// SlurmdUser only, authz.go).
func (s *Server) accessReport(w http.ResponseWriter, r *http.Request) {
	var rep api.AccessReport
	if !s.decode(w, r, &rep) {
		return
	}
	if rep.Node == "" || strings.ContainsAny(rep.Node, "/\x00") {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("bad node %q: set the agent's node name (AgentNode, default the host name)", rep.Node), "")
		return
	}
	rec, err := s.cfg.Store.RecordAccess(r.Context(), rep, s.cfg.Now())
	if errors.Is(err, queue.ErrNoNode) {
		WriteError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	for _, j := range rep.Jobs {
		if !j.Final {
			continue
		}
		var bytes int64
		for _, p := range j.Paths {
			bytes += p.Bytes
		}
		ev := s.cfg.Log.Info().Uint64("job", j.JobID).Str("node", rep.Node).Int64("bytes_read", bytes).
			Int64("hit_bytes", j.HitBytes).Int64("miss_bytes", j.MissBytes).Int64("get_bytes", j.GetBytes)
		ev.Msg("job I/O on node")
	}
	if rep.Dropped > 0 || rep.ReportsDropped > 0 {
		s.cfg.Log.Warn().Str("node", rep.Node).Int64("lines_lost", rep.Dropped).Int64("reports_lost", rep.ReportsDropped).
			Msg("agent lost access-log lines or reports: its figures are low")
	}
	if len(rec.Stale) > 0 {
		s.cfg.Log.Info().Strs("datasets", rec.Stale).Str("node", rep.Node).
			Msg("jobs missed the cache on warm datasets: marked stale, to be checked again")
		if s.cfg.Stale != nil {
			s.cfg.Stale(rec.Stale...)
		}
	}
	WriteJSON(w, http.StatusOK, api.AccessResponse{Jobs: rec.Jobs})
}

// jobIO answers GET /v1/jobs/{id}/io.
func (s *Server) jobIO(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	io, err := s.cfg.Store.JobIO(r.Context(), id)
	if err != nil {
		s.storeError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, io)
}

// nodeMounts answers GET /v1/access/mounts: the mount configurations
// agents reported.
func (s *Server) nodeMounts(w http.ResponseWriter, r *http.Request) {
	ms, err := s.cfg.Store.NodeMounts(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	if ms == nil {
		ms = []api.NodeMount{}
	}
	WriteJSON(w, http.StatusOK, ms)
}
